// Talking to the API: bearer tokens from the OAuth2 password flow, JSON in and out, and
// problem details (RFC 9457) turned into ApiError with the API's own `detail` text.

const listeners = new Set();
let tokenKey = 'ew.token';

export class ApiError extends Error {
  constructor(status, problem = {}) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.field = problem.field;
  }
}

/** Each page keeps its own sign-in (a duty screen and a guard's phone are different people). */
export function useSession(app) {
  tokenKey = `ew.token.${app}`;
}

export const session = {
  get() {
    try {
      const saved = JSON.parse(localStorage.getItem(tokenKey) || 'null');
      if (saved && Date.parse(saved.expires_at) > Date.now()) return saved.access_token;
    } catch {
      /* a damaged entry is as good as none */
    }
    return null;
  },
  save(token) {
    localStorage.setItem(tokenKey, JSON.stringify(token));
  },
  clear() {
    localStorage.removeItem(tokenKey);
  },
};

/** Called with no arguments when the API says the token is no good (sign in again). */
export function onSignedOut(fn) {
  listeners.add(fn);
}

function signedOut() {
  session.clear();
  for (const fn of listeners) fn();
}

export function authHeaders() {
  const token = session.get();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Query string from an object; arrays repeat the parameter, empty values are left out. */
export function query(params = {}) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== null && item !== undefined && item !== '') search.append(name, String(item));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch {
    return { title: response.statusText };
  }
}

/** Call the API; resolves to the JSON body (null for 204), rejects with ApiError. */
export async function api(path, { method = 'GET', body, params, signal } = {}) {
  const headers = { Accept: 'application/json', ...authHeaders() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path + query(params), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: 'no-store',
  });
  if (response.status === 401) signedOut();
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  return response.status === 204 ? null : response.json();
}

/** Sign in (POST /auth/token, form-encoded as OAuth2 asks) and keep the token. */
export async function signIn(username, password) {
  const response = await fetch('/auth/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({ username, password }),
  });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  const token = await response.json();
  session.save(token);
  return token;
}
