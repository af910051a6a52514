// Photos taken on the phone (a finding, a completed repair). A photo is kept on the device
// under a reference (ph_ + the first 16 hex digits of its SHA-256) that travels in
// `photo_refs` at once, and the photo itself goes up to PUT /photos/{ref} when there is
// signal: the upload is idempotent, so a retry after a lost answer does no harm.

import { authHeaders } from './api.js';
import { all, openDb, put } from './idb.js';

let dbPromise = null;

function db() {
  dbPromise ??= openDb('ew-photos', 1, (d) => d.createObjectStore('photos', { keyPath: 'ref' }));
  return dbPromise;
}

async function digest(bytes) {
  if (crypto.subtle) {
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return [...hash.slice(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
  }
  // Plain http on a LAN has no crypto.subtle: a random name is as good for keeping.
  return [...crypto.getRandomValues(new Uint8Array(8))]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
}

/** Keep `file` on this device; resolves to its reference. */
export async function keepPhoto(file) {
  const bytes = await file.arrayBuffer();
  const ref = `ph_${await digest(bytes)}`;
  await put(await db(), 'photos', {
    ref,
    type: file.type,
    size: file.size,
    taken_at: new Date().toISOString(),
    blob: new Blob([bytes], { type: file.type }),
    uploaded: false,
  });
  return ref;
}

/** Upload every photo kept and not yet uploaded; resolves to how many went up. Stops at the
 * first network failure (no signal) and keeps the rest for the next try. */
export async function uploadPending() {
  const store = await db();
  let sent = 0;
  for (const photo of await all(store, 'photos')) {
    if (photo.uploaded) continue;
    let response;
    try {
      response = await fetch(`/photos/${photo.ref}`, {
        method: 'PUT',
        headers: { ...authHeaders(), 'Content-Type': photo.type || 'application/octet-stream' },
        body: photo.blob,
      });
    } catch {
      break; // offline: try again on the next sync
    }
    // 200/201: stored. 409/422: the server will never take it; stop offering it.
    if (response.ok || response.status === 409 || response.status === 422) {
      await put(store, 'photos', { ...photo, uploaded: true, refused: !response.ok });
      if (response.ok) sent += 1;
    } else if (response.status === 401) {
      break; // signed out: the next sync after signing in sends it
    }
  }
  return sent;
}

/** Upload `file` now (a desk with signal: customer service logging an owner's report);
 * resolves to its reference, or throws when the API refused it or could not be reached. */
export async function uploadNow(file) {
  const ref = await keepPhoto(file);
  const response = await fetch(`/photos/${ref}`, {
    method: 'PUT',
    headers: { ...authHeaders(), 'Content-Type': file.type || 'application/octet-stream' },
    body: file,
  });
  if (!response.ok) throw new Error(`${response.status}`);
  const store = await db();
  const kept = (await all(store, 'photos')).find((p) => p.ref === ref);
  if (kept) await put(store, 'photos', { ...kept, uploaded: true });
  return ref;
}

const shown = new Map(); // ref → object URL promise: a list drawn again reads each once

/** An <img> of a stored photo (GET /photos/{ref} needs the sign-in, which <img src> cannot
 * send: read with it, shown from a blob URL). */
export function photoImg(ref, alt) {
  const img = document.createElement('img');
  img.className = 'photo';
  img.alt = alt;
  img.dataset.ref = ref;
  img.loading = 'lazy';
  if (!shown.has(ref)) {
    shown.set(ref, fetch(`/photos/${ref}`, { headers: authHeaders() })
      .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(`${r.status}`))))
      .then((blob) => URL.createObjectURL(blob))
      .catch((err) => {
        shown.delete(ref);
        throw err;
      }));
  }
  shown.get(ref).then((url) => { img.src = url; }).catch(() => { img.alt = `${alt} ✕`; });
  return img;
}
