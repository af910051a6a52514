// A few promises over IndexedDB: one database per page, stores created on first open.

export function openDb(name, version, upgrade) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, version);
    request.onupgradeneeded = () => upgrade(request.result);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export function put(db, store, value) {
  return done(db.transaction(store, 'readwrite').objectStore(store).put(value));
}

export function get(db, store, key) {
  return done(db.transaction(store).objectStore(store).get(key));
}

export function all(db, store) {
  return done(db.transaction(store).objectStore(store).getAll());
}
