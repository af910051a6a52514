// Talking to the API: bearer tokens from the OAuth2 password flow, JSON in and out, and
// problem details (RFC 9457) turned into ApiError with a text in the page's language
// (problems.js).

import { problemText } from './problems.js';

const listeners = new Set();
let tokenKey = 'ew.token';
let refreshing = null;
let keeper = 0;
// Renew this long before the access token runs out, so no request goes out with a dying one.
const EARLY_MS = 120_000;
const KEEP_FRESH_EVERY_MS = 30_000;

export class ApiError extends Error {
  constructor(status, problem = {}) {
    super(problemText(status, problem));
    this.status = status;
    this.problem = problem;
    this.field = problem.field;
  }
}

/** Each page keeps its own sign-in (a duty screen and a guard's phone are different people). */
export function useSession(app) {
  tokenKey = `ew.token.${app}`;
  // A wall screen nobody touches stays signed in for its refresh token's life (a shift).
  clearInterval(keeper);
  keeper = setInterval(() => fresh().catch(() => {}), KEEP_FRESH_EVERY_MS);
}

function saved() {
  try {
    return JSON.parse(localStorage.getItem(tokenKey) || 'null');
  } catch {
    return null; // a damaged entry is as good as none
  }
}

export const session = {
  get() {
    const token = saved();
    return token && Date.parse(token.expires_at) > Date.now() ? token.access_token : null;
  },
  /** The refresh token, while it is still good (it can sign the page in again). */
  refreshToken() {
    const token = saved();
    return token?.refresh_token && Date.parse(token.refresh_expires_at) > Date.now()
      ? token.refresh_token
      : null;
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

async function renew() {
  // Read again under the lock: another tab of this page may have renewed it already, and a
  // spent refresh token presented twice signs every tab out.
  const token = saved();
  if (!token?.refresh_token || Date.parse(token.expires_at) - Date.now() > EARLY_MS) return;
  if (Date.parse(token.refresh_expires_at) <= Date.now()) return;
  const response = await fetch('/auth/refresh', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ refresh_token: token.refresh_token }),
    cache: 'no-store',
  });
  if (response.ok) session.save(await response.json());
  else if (response.status === 401 || response.status === 422) signedOut();
}

/** Renew the access token with the refresh token when it is about to run out. Rejects only
 * when the API cannot be reached (the caller's request would fail the same way). */
export async function fresh() {
  const token = saved();
  if (!token?.refresh_token || Date.parse(token.expires_at) - Date.now() > EARLY_MS) return;
  if (!refreshing) {
    // Web Locks exist only in secure contexts (https, localhost): elsewhere one tab at a time
    // is the common case and a race signs the page out, never in someone else.
    const locks = globalThis.navigator?.locks;
    const run = locks ? locks.request(`ew.refresh.${tokenKey}`, renew) : renew();
    refreshing = run.finally(() => {
      refreshing = null;
    });
  }
  await refreshing;
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
  await fresh();
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
