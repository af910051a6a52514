// The sign-in form every page shares (#login-view with #login-form, #login-user,
// #login-pass, #login-error; the page itself in #app). Who signed in is kept on the device
// too, so a guard's phone that starts without signal still knows its guard.

import { ApiError, api, fresh, session, signIn } from './api.js';
import { $ } from './dom.js';
import { t } from './i18n.js';

let meKey = 'ew.me';

function remember(me) {
  localStorage.setItem(meKey, JSON.stringify(me));
  return me;
}

function remembered() {
  try {
    return JSON.parse(localStorage.getItem(meKey) || 'null');
  } catch {
    return null;
  }
}

/** Show the form until someone signs in; resolves to GET /users/me. */
export function showLogin() {
  const view = $('#login-view');
  const form = $('#login-form');
  const error = $('#login-error');
  const submit = $('#login-submit');
  $('#app').hidden = true;
  view.hidden = false;
  error.hidden = true;
  $('#login-user').focus();
  return new Promise((resolve) => {
    const onSubmit = async (event) => {
      event.preventDefault();
      submit.disabled = true;
      submit.textContent = t('login.busy');
      try {
        await signIn($('#login-user').value.trim(), $('#login-pass').value);
        const me = remember(await api('/users/me'));
        form.removeEventListener('submit', onSubmit);
        $('#login-pass').value = '';
        view.hidden = true;
        $('#app').hidden = false;
        resolve(me);
      } catch (err) {
        error.textContent = err instanceof ApiError ? err.message : t('common.error', { detail: err.message });
        error.hidden = false;
      } finally {
        submit.disabled = false;
        submit.textContent = t('login.submit');
      }
    };
    form.addEventListener('submit', onSubmit);
  });
}

/** The signed-in user: from a kept token (or, without signal, the last one known), or
 * after the form. `app` names the page's own sign-in. */
export async function signedInUser(app) {
  meKey = `ew.me.${app}`;
  const known = remembered();
  if (navigator.onLine) await fresh().catch(() => {});
  // Offline, a kept refresh token still vouches for the last user known (scans queue up).
  if ((session.get() || session.refreshToken()) && !navigator.onLine && known) {
    $('#app').hidden = false; // no signal: do not even try (the browser would log an error)
    return known;
  }
  if (session.get()) {
    try {
      const me = remember(await api('/users/me'));
      $('#app').hidden = false;
      return me;
    } catch (err) {
      const offline = !(err instanceof ApiError);
      if (offline && known) {
        $('#app').hidden = false;
        return known;
      }
    }
  }
  return showLogin();
}

export function signOut() {
  const refresh_token = session.refreshToken();
  if (refresh_token) {
    // Revokes this sign-in's refresh tokens; keepalive lets it finish as the page reloads.
    fetch('/auth/logout', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token }),
      keepalive: true,
    }).catch(() => {});
  }
  session.clear();
  localStorage.removeItem(meKey);
  location.reload();
}
