/* The sampler page's service worker: lets the page itself reload with no network.
 *
 * Served from /testing/sampler/sw.js so that its scope covers /testing/sampler/. The page
 * is fetched network first (a fresh page when the server answers, the kept copy when it
 * does not); its scripts and styles stale-while-revalidate. Nothing else is touched:
 * API calls and every non-GET request go straight to the network, and the scans
 * themselves live in IndexedDB, not here.
 */
"use strict";

const CACHE = "fangkong-sampler-v1";

self.addEventListener("install", (event) => {
  const page = new URL("./", self.registration.scope).pathname;
  event.waitUntil(
    fetch(page, { credentials: "same-origin" })
      .then((response) => keepable(response) && caches.open(CACHE).then((cache) => cache.put(page, response)))
      .catch(() => {}),
  );
  self.skipWaiting();
});

/** Only a real page is kept: not a redirect to the login page, not an error. */
function keepable(response) {
  return response.ok && !response.redirected;
}

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("fangkong-sampler-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// The page names its own scripts and styles, so the worker never hard-codes a path.
self.addEventListener("message", (event) => {
  const urls = (event.data && event.data.cache) || [];
  const same = urls.filter((u) => new URL(u, self.location.href).origin === self.location.origin);
  event.waitUntil(caches.open(CACHE).then((cache) => Promise.all(same.map((u) => cache.add(u).catch(() => {})))));
});

function isPage(request) {
  const url = new URL(request.url);
  return request.mode === "navigate" && url.pathname.startsWith(new URL(self.registration.scope).pathname);
}

function isAsset(request) {
  const url = new URL(request.url);
  return url.origin === self.location.origin && url.pathname.startsWith("/static/");
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  if (isPage(request)) {
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (keepable(response)) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(new URL(request.url).pathname, copy));
          }
          return response;
        })
        .catch(() => caches.match(new URL(request.url).pathname).then((hit) => hit || Response.error())),
    );
  } else if (isAsset(request)) {
    event.respondWith(
      caches.open(CACHE).then((cache) =>
        cache.match(request).then((hit) => {
          const fresh = fetch(request)
            .then((response) => {
              if (response.ok) cache.put(request, response.clone());
              return response;
            })
            .catch(() => hit || Response.error());
          return hit || fresh;
        }),
      ),
    );
  }
});
