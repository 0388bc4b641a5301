// QuantScope's service worker: it keeps the app's own files in the browser's cache, so that the
// app opens and runs with the network cut once it has been loaded (a classroom with poor
// Wi-Fi). It caches only this site's files, never anything a user opens: files are read in the
// page and never fetched.
//
// scripts/tools/service-worker.sh writes the build's list of files and a hash of their bytes in
// place of the two placeholders below, after each trunk build. A new build is a new cache: the
// browser installs it beside the old one and switches when no tab uses the old one any more, so
// a page never mixes two builds' files.
"use strict";

const VERSION = "__QUANTSCOPE_VERSION__";
// The build's files, relative to this script; null in a development build (scripts/serve),
// where this worker removes itself and its caches and every request goes to the network.
const FILES = /*__QUANTSCOPE_FILES__*/ null;
// Files cached the first time the page asks for them rather than at install: the model worker,
// which only a page that opens a model needs.
const LATER = /*__QUANTSCOPE_LATER__*/ null;
// Caches are per origin, and several copies of the app can live under one origin at different
// paths: each copy's caches are named after its scope.
const PREFIX = `quantscope ${self.registration.scope} `;
const CACHE = PREFIX + VERSION;

self.addEventListener("install", (event) => {
  if (!FILES) {
    self.skipWaiting();
    return;
  }
  // `reload`: straight from the network, not from the HTTP cache, so the cache holds this build.
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES.map((f) => new Request(f, { cache: "reload" })))));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith(PREFIX) && key !== CACHE) await caches.delete(key);
    }
    if (!FILES) {
      await caches.delete(CACHE);
      await self.registration.unregister();
      return;
    }
    // The page that installed this worker is served by it from now on, its workers included.
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (!FILES || request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // The app's state lives in the URL's hash, which requests never carry; a query is ignored.
    const hit = await cache.match(request, { ignoreSearch: true });
    if (hit) return hit;
    if (request.mode === "navigate") {
      const shell = await cache.match("./");
      if (shell) return shell;
    }
    const path = "./" + new URL(request.url).pathname.split("/").pop();
    if (LATER && LATER.includes(path)) {
      const response = await fetch(request);
      if (response.ok) await cache.put(request, response.clone());
      return response;
    }
    return fetch(request);
  })());
});
