// Ethos store service worker: caches the app shell; pages come from the network and fall
// back to the offline page. Nothing personal (pages, API answers) is ever cached, and the
// remote-access broker token (/home/broker-token) never even passes through this worker.
const CACHE = "ethos-shell-v1";
const SHELL = [
  "/offline",
  "/static/ethos.css",
  "/static/app.js",
  "/static/icon.svg",
  "/static/icon-192.png",
  "/static/manifest.webmanifest",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((keys) =>
      Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key)))
    )
  );
  self.clients.claim();
});

const NEVER_HANDLED = ["/home/broker-token"];

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (
    request.method !== "GET" ||
    url.origin !== self.location.origin ||
    NEVER_HANDLED.includes(url.pathname)
  ) {
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match("/offline")));
    return;
  }
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  }
});
