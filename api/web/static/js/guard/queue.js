// Scans kept on the phone (IndexedDB) until the API has them. Each keeps the time it was
// made; a batch is sent to POST /patrol/scans and each scan is marked with the API's answer.
// Sending again is harmless (the API knows a scan by handheld, tag and time), so a send
// cut off half way is simply repeated. Tags the API resolved are remembered, so the phone
// can tick off checkpoints while it has no signal.

import { ApiError, api } from '../lib/api.js';
import { all, get, openDb, put } from '../lib/idb.js';

const BATCH = 500; // the API takes at most 500 scans per request
let dbPromise = null;
let syncing = null;

function db() {
  dbPromise ??= openDb('ew-guard', 1, (d) => {
    d.createObjectStore('scans', { keyPath: 'key' });
    d.createObjectStore('tags', { keyPath: 'tag_uid' });
  });
  return dbPromise;
}

/** Keep a scan: {site, guard, handheld, tag_uid, scanned_at (ISO), finding|null}. */
export async function addScan(scan) {
  const key = `${scan.handheld}:${scan.tag_uid}:${Date.parse(scan.scanned_at)}`;
  const record = { ...scan, key, status: 'pending', offline: !navigator.onLine, result: null };
  await put(await db(), 'scans', record);
  return record;
}

/** This guard's scans on this phone, newest first. */
export async function scans(guard) {
  const found = (await all(await db(), 'scans')).filter((s) => s.guard === guard);
  return found.sort((a, b) => Date.parse(b.scanned_at) - Date.parse(a.scanned_at));
}

/** The checkpoint a tag was resolved to by the API before, if any. */
export async function checkpointOf(tagUid) {
  return (await get(await db(), 'tags', tagUid))?.checkpoint ?? null;
}

async function markOffline(records) {
  const d = await db();
  for (const record of records) if (!record.offline) await put(d, 'scans', { ...record, offline: true });
}

function body(record) {
  const scan = { handheld: record.handheld, tag_uid: record.tag_uid, scanned_at: record.scanned_at, offline: record.offline };
  if (record.finding) scan.finding = record.finding;
  return scan;
}

async function sendBatch(site, records) {
  const results = await api('/patrol/scans', { method: 'POST', body: { site, scans: records.map(body) } });
  const d = await db();
  for (const [i, result] of results.entries()) {
    const record = { ...records[i], status: result.status, result };
    await put(d, 'scans', record);
    if (result.checkpoint) await put(d, 'tags', { tag_uid: record.tag_uid, checkpoint: result.checkpoint });
  }
}

async function rejectBatch(records, err) {
  const d = await db();
  for (const record of records) {
    await put(d, 'scans', { ...record, status: 'rejected', result: { reason: err.message } });
  }
}

async function syncAll(guard) {
  const waiting = (await scans(guard)).filter((s) => s.status === 'pending').reverse();
  if (!waiting.length) return 'synced';
  if (!navigator.onLine) {
    await markOffline(waiting);
    return 'offline';
  }
  const bySite = new Map();
  for (const s of waiting) bySite.set(s.site, [...(bySite.get(s.site) ?? []), s]);
  for (const [site, records] of bySite) {
    for (let i = 0; i < records.length; i += BATCH) {
      const batch = records.slice(i, i + BATCH);
      try {
        await sendBatch(site, batch);
      } catch (err) {
        if (!(err instanceof ApiError)) {
          await markOffline(batch);
          return 'offline';
        }
        if (err.status === 401) return 'signin';
        if (err.status >= 500 || err.status === 429) return 'retry';
        await rejectBatch(batch, err); // the API will never take these: keep them, visibly
      }
    }
  }
  return 'synced';
}

/** Send every waiting scan of `guard`: 'synced', 'offline', 'signin' or 'retry'. One
 * sync at a time; a call while one runs waits for it. */
export function sync(guard) {
  syncing ??= syncAll(guard).finally(() => {
    syncing = null;
  });
  return syncing;
}
