// Photos taken on the phone (a finding, a completed repair). The API has no upload
// endpoint yet: a photo is kept on the device under a reference (ph_ + the first 16 hex
// digits of its SHA-256) and the reference travels in `photo_refs`, so the photo can be
// uploaded under the same name once the API takes photos.

import { openDb, put } from './idb.js';

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
