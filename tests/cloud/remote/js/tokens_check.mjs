// Runs cloud/static/remote/tokens.js against a scripted store and prints what it asked and
// gave as JSON; tests/cloud/remote/test_js_tokens.py holds the expectations.
const { BrokerTokens, tokenSubject } = await import(
  new URL("../../../../cloud/static/remote/tokens.js", import.meta.url)
);

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
const jwt = (claims) => `${b64({ alg: "RS256" })}.${b64(claims)}.signature`;
const asked = [];
let answers = [];
const fetchImpl = async (url, init) => {
  asked.push({ url, method: init.method, csrf: init.headers["X-CSRF-Token"], cache: init.cache });
  const [status, body] = answers.shift();
  return { status, ok: status >= 200 && status < 300, json: async () => body };
};
const outcome = async (promise) => {
  try {
    return await promise;
  } catch (error) {
    return { error: error.message, signedOut: error.signedOut ?? null };
  }
};
const homes = [{ hub: "0".repeat(32), name: "Maison" }];
const result = {};
const tokens = new BrokerTokens("/home/broker-token", "csrf-1", { fetchImpl });
answers = [
  [200, { ws_url: "ws://broker/ws", token: jwt({ sub: "user-7" }), expires_in: 300, homes }],
  [200, { ws_url: "ws://broker/ws", token: jwt({ sub: "user-7", n: 2 }), expires_in: 300, homes, client_id: "web-" + "a".repeat(32) }],
  [200, { ws_url: "ws://broker/ws", homes: [] }],
  [401, {}],
];
result.first = await tokens.credentials();
result.cached = (await tokens.credentials()) === undefined ? null : asked.length;
result.fresh = await tokens.credentials({ fresh: true });
result.no_home = await outcome(tokens.credentials({ fresh: true }));
result.signed_out = await outcome(tokens.credentials({ fresh: true }));
result.asked = asked;
result.not_a_jwt = await outcome(Promise.resolve().then(() => tokenSubject("abc")));
process.stdout.write(JSON.stringify(result));
