// Web NFC (Chrome on Android, over HTTPS): read a tag's serial number, which is the
// checkpoint's tag UID. Elsewhere the guard types the code printed on the tag.

export const nfcSupported = 'NDEFReader' in window;

/** "04:a1:b2:00:11" → "04A1B20011" */
export function normalizeTag(serial) {
  return String(serial ?? '').replace(/[^0-9a-f]/gi, '').toUpperCase();
}

export function validTag(code) {
  return /^[0-9A-F]{8,20}$/.test(code);
}

/** Start reading (the browser asks permission the first time); `onTag(uid)` per tag, the
 * same tag again within `quietMs` ignored. Resolves to a function that stops reading. */
export async function startNfc({ onTag, onError, quietMs = 5000 }) {
  const controller = new AbortController();
  const reader = new window.NDEFReader();
  let last = { uid: '', at: 0 };
  reader.addEventListener('reading', ({ serialNumber }) => {
    const uid = normalizeTag(serialNumber);
    if (!validTag(uid)) return onError(new Error(serialNumber || 'no serial number'));
    if (uid === last.uid && Date.now() - last.at < quietMs) return;
    last = { uid, at: Date.now() };
    onTag(uid);
  });
  reader.addEventListener('readingerror', () => onError(new Error('unreadable tag')));
  await reader.scan({ signal: controller.signal });
  return () => controller.abort();
}
