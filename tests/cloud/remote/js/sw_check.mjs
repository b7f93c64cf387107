// Runs the store's service worker (cloud/static/sw.js) in a Node context shaped like a
// worker's global scope, sends it fetch events and prints which it answered and what it put
// in its cache; tests/cloud/remote/test_home_pwa.py holds the expectations.
import { readFileSync } from "node:fs";
import vm from "node:vm";

const ORIGIN = "https://store.example";
const source = readFileSync(new URL("../../../../cloud/static/sw.js", import.meta.url), "utf8");
const listeners = {};
const cached = new Set();
const fetched = [];
let offline = false;
const cache = {
  addAll: async (urls) => urls.forEach((url) => cached.add(url)),
  put: async (request) => cached.add(typeof request === "string" ? request : request.url),
};
const context = {
  self: {
    location: { origin: ORIGIN },
    addEventListener: (type, listener) => {
      listeners[type] = listener;
    },
    skipWaiting: () => {},
    clients: { claim: () => {} },
  },
  caches: {
    open: async () => cache,
    keys: async () => [],
    delete: async () => true,
    match: async (request) => (cached.has(typeof request === "string" ? request : new URL(request.url).pathname) ? "cached" : undefined),
  },
  fetch: async (request) => {
    fetched.push(typeof request === "string" ? request : `${request.method} ${request.url}`);
    if (offline) {
      throw new TypeError("Failed to fetch");
    }
    return "network";
  },
  URL,
  Promise,
};
context.self.caches = context.caches;
vm.runInNewContext(source, context);
let installed;
listeners.install({ waitUntil: (promise) => (installed = promise) });
await installed;

async function send(method, path, mode = "cors") {
  let answer = null;
  listeners.fetch({
    request: { method, url: `${ORIGIN}${path}`, mode },
    respondWith: (promise) => (answer = promise),
  });
  return answer === null ? "not handled" : await answer;
}
const result = {
  token_post: await send("POST", "/home/broker-token"),
  token_get: await send("GET", "/home/broker-token"),
  home_page: await send("GET", "/home", "navigate"),
  remote_script: await send("GET", "/static/remote/home.js", "no-cors"),
  home_page_offline: await (async () => {
    offline = true;
    return send("GET", "/home", "navigate");
  })(),
  cached: [...cached].sort(),
  fetched,
};
process.stdout.write(JSON.stringify(result));
