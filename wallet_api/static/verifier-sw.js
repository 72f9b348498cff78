/*
 * The verifier page's service worker (served at /verifier-sw.js, scope /verifier).
 *
 * It keeps the page shell and its scripts so that /verifier opens with no network; the
 * signed trust list and status lists are cached by the page itself (offline-verify.js),
 * with their fetch time, so that the page can say how old they are.
 *
 * - navigations in scope: network first (a fresh page and CSRF token when online), the
 *   cached shell when the network fails;
 * - the shell's static files: cache first, refreshed in the background;
 * - anything else (the verify API, the lists, logins): straight to the network.
 */
"use strict";

var CACHE = "govwallet-verifier-v1";
var PAGE = "/verifier";
var ASSETS = [
  "/static/site.css",
  "/static/verifier.css",
  "/static/vendor/jsQR.js",
  "/static/vendor/pako_inflate.min.js",
  "/static/offline-verify.js",
  "/static/verifier.js",
];

/* Only a real 200 page is worth keeping: never a redirect to the login form. */
function storable(response) {
  return response && response.ok && !response.redirected && response.type === "basic";
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll(ASSETS).then(function () {
        return fetch(PAGE, { credentials: "same-origin" })
          .then(function (response) {
            if (storable(response)) return cache.put(PAGE, response);
          })
          .catch(function () {
            /* the page is cached at the next navigation */
          });
      });
    }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(
        names
          .filter(function (name) {
            return name.indexOf("govwallet-verifier-") === 0 && name !== CACHE;
          })
          .map(function (name) {
            return caches.delete(name);
          })
      ).then(function () {
        return self.clients.claim();
      });
    })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(
      fetch(request)
        .then(function (response) {
          if (storable(response)) {
            var copy = response.clone();
            caches.open(CACHE).then(function (cache) {
              cache.put(PAGE, copy);
            });
          }
          return response;
        })
        .catch(function () {
          return caches.match(PAGE).then(function (cached) {
            return cached || Response.error();
          });
        })
    );
    return;
  }

  if (ASSETS.indexOf(url.pathname) >= 0) {
    event.respondWith(
      caches.open(CACHE).then(function (cache) {
        return cache.match(url.pathname).then(function (cached) {
          var fresh = fetch(request)
            .then(function (response) {
              if (storable(response)) cache.put(url.pathname, response.clone());
              return response;
            })
            .catch(function () {
              return cached || Response.error();
            });
          return cached || fresh;
        });
      })
    );
  }
});
