// The guard page's service worker: keeps the page and its files so the page opens again
// in a basement without signal. Network first (a new version wins when there is signal),
// the kept copy otherwise. API calls are never kept: scans wait in IndexedDB instead.

const CACHE = 'ew-guard-v6'; // v6: panels no wider than the phone (css/mobile.css)
const SHELL = [
  '/guard',
  '/static/css/base.css',
  '/static/css/mobile.css',
  '/static/icon.svg',
  '/static/guard-manifest.json',
  '/static/js/guard/main.js',
  '/static/js/guard/nfc.js',
  '/static/js/guard/queue.js',
  '/static/js/guard/strings.js',
  '/static/js/guard/texts.js',
  '/static/js/lib/api.js',
  '/static/js/lib/dom.js',
  '/static/js/lib/i18n.js',
  '/static/js/lib/idb.js',
  '/static/js/lib/login.js',
  '/static/js/lib/names.js',
  '/static/js/lib/photos.js',
  '/static/js/lib/problem-strings.js',
  '/static/js/lib/problems.js',
  '/static/js/lib/rounds.js',
  '/static/js/lib/strings-en.js',
  '/static/js/lib/strings-plant.js',
  '/static/js/lib/strings-orders.js',
  '/static/js/lib/strings-zh.js',
  '/static/js/lib/time.js',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function isShell(url) {
  return url.origin === self.location.origin && (url.pathname === '/guard' || url.pathname.startsWith('/static/'));
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || !isShell(url)) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true })),
  );
});
