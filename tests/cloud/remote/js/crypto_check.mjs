// Runs cloud/static/remote/crypto.js against the shared test vectors (the hub's Python
// implementation is tested with the same file) and prints what it computed and refused as
// JSON; tests/cloud/remote/test_js_crypto.py holds the expectations.
import { readFileSync } from "node:fs";

const crypto = await import(new URL("../../../../cloud/static/remote/crypto.js", import.meta.url));
const { b64decode, b64encode, utf8Decoder, utf8Encoder } = await import(
  new URL("../../../../cloud/static/remote/encoding.js", import.meta.url)
);
const vectors = JSON.parse(readFileSync(process.argv[2], "utf8"));
const subtle = globalThis.crypto.subtle;

async function outcome(promise) {
  try {
    await promise;
    return "accepted";
  } catch (error) {
    return error.reason ?? `${error.name}: ${error.message}`;
  }
}

const result = {};
const { kid } = vectors.household_key;
const key = await crypto.importHouseholdKey(b64decode(vectors.household_key.secret));
const opener = () => new crypto.EnvelopeOpener(kid, key);

result.envelopes = [];
for (const vector of vectors.envelopes) {
  const sealed = await crypto.sealEnvelope({
    key,
    kid,
    sender: vector.sender,
    topic: vector.topic,
    ctr: vector.counter,
    plaintext: utf8Encoder.encode(vector.plaintext_text),
    iv: b64decode(vector.iv),
  });
  const reader = opener();
  const opened = await reader.open(vector.topic, vector.payload_text);
  result.envelopes.push({
    name: vector.name,
    aad_text: utf8Decoder.decode(crypto.envelopeAad(vector.topic, kid, vector.sender, vector.counter)),
    sealed,
    opened: opened.message,
    sender: opened.sender,
    replayed: await outcome(reader.open(vector.topic, vector.payload_text)),
    from_hub_only: await outcome(opener().open(vector.topic, vector.payload_text, { expectSender: "hub" })),
  });
}
result.refused = [];
for (const vector of vectors.refused) {
  result.refused.push({ why: vector.why, outcome: await outcome(opener().open(vector.topic, vector.payload_text)) });
}

const first = vectors.envelopes[0];
const older = opener();
await older.open(first.topic, first.payload_text);
const seal = (ctr, message) =>
  crypto.sealEnvelope({ key, kid, sender: first.sender, topic: first.topic, ctr, message });
result.older_counter = await outcome(older.open(first.topic, await seal(first.counter - 1, {})));
result.later_counter = (await older.open(first.topic, await seal(first.counter + 1, { type: "later" }))).message;
// One browser's deliveries in the order the broker gave them (reordered across topics).
const delivered = opener();
result.deliveries = [];
for (const delivery of vectors.deliveries) {
  result.deliveries.push(await outcome(delivered.open(delivery.topic, delivery.payload_text, { expectSender: "hub" })));
}
// Memory stays bounded however many topics (and senders) are heard; a forgotten topic's old
// counter is still refused, a remembered topic's too.
const bounded = new crypto.EnvelopeOpener(kid, key, { maxStreams: 4 });
const sealOn = (topic, ctr) => crypto.sealEnvelope({ key, kid, sender: "hub", topic, ctr, message: {} });
const partTopics = Array.from({ length: 15 }, (_, n) => `${first.topic}/${n + 1}`);
const heard = [];
for (const [n, topic] of partTopics.entries()) {
  heard.push(await outcome(bounded.open(topic, await sealOn(topic, 500 + n))));
}
result.bounded = {
  heard,
  remembered: bounded.size,
  forgotten_old: await outcome(bounded.open(partTopics[0], await sealOn(partTopics[0], 500))),
  remembered_old: await outcome(bounded.open(partTopics[14], await sealOn(partTopics[14], 514))),
  forgotten_new: await outcome(bounded.open(partTopics[0], await sealOn(partTopics[0], 1000))),
  remembered_after: bounded.size,
};
// The same message twice at once (handlers are not serialised): one is a replay.
const racing = opener();
result.concurrent_same = (
  await Promise.all([
    outcome(racing.open(first.topic, first.payload_text)),
    outcome(racing.open(first.topic, first.payload_text)),
  ])
).sort();
result.too_large = await outcome(opener().open(first.topic, " ".repeat(64 * 1024 + 1)));
result.not_json = await outcome(opener().open(first.topic, "{"));
result.not_an_envelope = await outcome(opener().open(first.topic, '{"v":1,"kid":"0011223344556677"}'));
const counter = new crypto.SendCounter(first.counter);
result.counters = [counter.next(first.counter - 5), counter.next(first.counter + 100)];

const p = vectors.pairing;
const browser = vectors.browser;
const hub = vectors.hub;
const browserPoint = b64decode(p.browser_pub);
const hello = async (code) => {
  const pairingKey = await crypto.derivePairingKey(code, hub);
  const built = await crypto.buildHello({ pairingKey, hub, browser, name: "Firefox on Linux", publicPoint: browserPoint });
  return JSON.stringify(built);
};
result.hello_typed = await hello(p.code_typed);
result.hello_shown = await hello(p.code_shown);
result.hello_bare = await hello(p.code);
result.bad_code = await outcome(crypto.derivePairingKey("ABCDE-1234U", hub));
result.short_code = await outcome(crypto.derivePairingKey("ABCDE-1234", hub));
const pairingKey = await crypto.derivePairingKey(p.code_shown, hub);
const verify = (overrides, welcomeKey = pairingKey) =>
  crypto.verifyWelcome({
    pairingKey: welcomeKey,
    hub,
    browser,
    browserPoint,
    welcome: JSON.stringify({ ...JSON.parse(p.welcome_text), ...overrides }),
  });
const welcomed = await verify({});
result.welcome = { hub_pub: b64encode(welcomed.hubPoint), check: welcomed.check };
result.welcome_wrong_code = await outcome(verify({}, await crypto.derivePairingKey("ZZZZZ-ZZZZZ", hub)));
result.welcome_wrong_check = await outcome(verify({ check: p.check === "000000" ? "000001" : "000000" }));
result.welcome_other_key = await outcome(verify({ pub: p.browser_pub }));
result.check = await crypto.checkDigits(b64decode(p.hub_pub), browserPoint);

const privateKey = await subtle.importKey("jwk", p.browser_private_jwk, { name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
const wrapKey = await crypto.deriveWrapKey({ privateKey, hubPoint: welcomed.hubPoint, hub, browser });
const unwrapped = await crypto.unwrapHouseholdKey({ wrapKey, hub, browser, keysMessage: p.keys_text });
result.unwrapped_kid = unwrapped.kid;
result.unwrapped_opens = (await new crypto.EnvelopeOpener(unwrapped.kid, unwrapped.key).open(first.topic, first.payload_text)).message;
result.keys_for_other_browser = await outcome(
  crypto.unwrapHouseholdKey({ wrapKey, hub, browser: "1".repeat(32), keysMessage: p.keys_text })
);
const keys = JSON.parse(p.keys_text);
const flipped = b64decode(keys.wrapped);
flipped[3] ^= 0x10;
result.keys_tampered = await outcome(
  crypto.unwrapHouseholdKey({ wrapKey, hub, browser, keysMessage: JSON.stringify({ ...keys, wrapped: b64encode(flipped) }) })
);
const generated = await crypto.generateBrowserKeyPair();
result.generated = {
  private_extractable: generated.privateKey.extractable,
  public_bytes: (await crypto.exportPublicPoint(generated.publicKey)).length,
};
process.stdout.write(JSON.stringify(result));
