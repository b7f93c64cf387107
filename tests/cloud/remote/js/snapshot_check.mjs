// Runs cloud/static/remote/link.js and snapshot.js against a hub played here with WebCrypto:
// a snapshot in parts is shown once, whole; parts of two snapshots are never mixed; a part
// count over the limit, a part on another part's topic, a count that changes within a
// snapshot are refused; and the assembler keeps at most two snapshots in memory. Prints what
// the view was told as JSON; tests/cloud/remote/test_js_snapshot.py holds the expectations.
const base = new URL("../../../../cloud/static/remote/", import.meta.url);
const crypto = await import(new URL("crypto.js", base));
const { b64decode, b64encode, utf8Encoder } = await import(new URL("encoding.js", base));
const { PairingStore } = await import(new URL("keystore.js", base));
const { HomeLink, topicsOf } = await import(new URL("link.js", base));
const { SnapshotAssembler, SnapshotError } = await import(new URL("snapshot.js", base));

const subtle = globalThis.crypto.subtle;
const HUB = "0123456789abcdef0123456789abcdef";
const CODE = "7K3M9-P2QXR";
const topics = topicsOf(HUB);
let clock = Date.parse("2026-12-05T17:00:00Z");
const now = () => clock;

const calls = [];
const view = {
  showWaiting() {}, showPairForm() {}, showPairWaiting() {}, showPairError(text) { calls.push(["pair_error", text]); },
  showPaired() {}, showOffline() {}, showReply() {},
  showSnapshot(name, entities) { calls.push(["snapshot", entities.map((e) => e.entity_id)]); },
  showEntity(entity) { calls.push(["entity", entity.entity_id]); },
  mark(text) { calls.push(["mark", text]); },
};
const broker = { subscribed: [], published: [], subscribe(list) { this.subscribed.push(...list); }, publish(topic, payload) { this.published.push([topic, payload]); return true; } };

// The hub: pairs the browser, then seals what it sends under the household key.
const hubPair = await subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
const secret = globalThis.crypto.getRandomValues(new Uint8Array(32));
const kid = "00112233445566ff";
const key = await crypto.importHouseholdKey(secret);
const counter = new crypto.SendCounter();
const hubPoint = await crypto.exportPublicPoint(hubPair.publicKey);

const link = new HomeLink({ hub: HUB, name: "Home", store: await new PairingStore().open(), mqtt: broker, view, now });
await link.start();
await link.pair(CODE);
const hello = JSON.parse(broker.published.at(-1)[1]);
const pk = await crypto.derivePairingKey(CODE, HUB);
const hubPub = b64encode(hubPoint);
const mac = b64encode(new Uint8Array(await subtle.sign("HMAC", pk, utf8Encoder.encode(`welcome\n${HUB}\n${hello.browser}\n${hubPub}\n${hello.pub}`))));
const check = await crypto.checkDigits(hubPoint, b64decode(hello.pub));
await link.receive(topics.welcome(hello.browser), utf8Encoder.encode(JSON.stringify({ v: 1, pub: hubPub, check, mac })), false);
const browserKey = await subtle.importKey("raw", b64decode(hello.pub), { name: "ECDH", namedCurve: "P-256" }, false, []);
const shared = await subtle.deriveBits({ name: "ECDH", public: browserKey }, hubPair.privateKey, 256);
const ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
const wrap = await subtle.deriveKey(
  { name: "HKDF", hash: "SHA-256", salt: utf8Encoder.encode(HUB), info: utf8Encoder.encode(`ethos-wrap-v1:${hello.browser}`) },
  ikm, { name: "AES-GCM", length: 256 }, false, ["encrypt"]
);
const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
const wrapped = await subtle.encrypt({ name: "AES-GCM", iv, additionalData: crypto.keysAad(HUB, hello.browser, kid) }, wrap, secret);
const keysText = JSON.stringify({ v: 1, kid, iv: b64encode(iv), wrapped: b64encode(new Uint8Array(wrapped)) });

const entity = (id) => ({ entity_id: id, name: id, domain: "sensor", state: "1", attributes: {}, device: "", room: null, controls: [] });
const part = (snapshot, index, parts, ids) => ({
  type: "snapshot", sent_at: new Date(clock).toISOString(), hub_name: "Maison", snapshot, part: index, parts, entities: ids.map(entity),
});
async function send(topic, message) {
  clock += 10;
  const sealed = await crypto.sealEnvelope({ key, kid, sender: "hub", topic, ctr: counter.next(clock * 1000), message });
  await link.receive(topic, utf8Encoder.encode(sealed), false);
}
const A = "aaaaaaaaaaaaaaaa";
const B = "bbbbbbbbbbbbbbbb";
const C = "cccccccccccccccc";
const [s0, s1, s2] = topics.stateParts;

// Retained parts before the keys message: held, then shown once the key came.
await send(s0, part(C, 0, 2, ["sensor.c0"]));
await send(s1, part(C, 1, 2, ["sensor.c1"]));
await link.receive(topics.keys(hello.browser), utf8Encoder.encode(keysText), true);
view.mark("whole");
await send(s0, part(A, 0, 3, ["sensor.a0", "sensor.a1"]));
await send(s1, part(A, 1, 3, ["sensor.a2"]));
await send(topics.event, { type: "state", sent_at: new Date(clock).toISOString(), entity: entity("sensor.a2") });
await send(s2, part(A, 2, 3, ["sensor.a3"]));
view.mark("mixed");
// A's first part, then all of B, then the rest of A: only whole snapshots are shown.
await send(s0, part(A, 0, 2, ["sensor.a0"]));
await send(s0, part(B, 0, 2, ["sensor.b0"]));
await send(s1, part(B, 1, 2, ["sensor.b1"]));
view.mark("refused");
await send(s1, part(C, 1, 17, ["sensor.too_many"])); // over the limit
await send(s0, part(C, 0, 1e9, ["sensor.huge"])); // over the limit
await send(s1, part(C, 2, 3, ["sensor.moved"])); // part 2 on part 1's topic
await send(s0, part(C, -1, 1, ["sensor.negative"]));
await send(s0, part("not-an-id", 0, 1, ["sensor.bad_id"]));
await send(s0, part(C, 0, 2, ["sensor.c0"]));
await send(s1, part(C, 1, 3, ["sensor.c1"])); // the count changed within snapshot C
await send(s0, { ...part(C, 0, 1, []), entities: "many" });
view.mark("end");

// The assembler alone: 100 snapshots' first parts keep at most two in memory.
const assembler = new SnapshotAssembler();
for (let n = 0; n < 100; n += 1) {
  assembler.add(0, part(n.toString(16).padStart(16, "0"), 0, 16, ["sensor.x"]));
}
const refusal = (fn) => { try { fn(); return null; } catch (error) { return error instanceof SnapshotError ? "refused" : String(error); } };
const result = {
  calls,
  pending_after_flood: assembler.pending.size,
  legacy_whole: assembler.add(0, { type: "snapshot", entities: [entity("sensor.old")] }).entities.length,
  legacy_on_part_topic: refusal(() => assembler.add(1, { type: "snapshot", entities: [] })),
  parts_as_text: refusal(() => assembler.add(0, { ...part(A, 0, 1, []), parts: "1" })),
};
process.stdout.write(JSON.stringify(result));
