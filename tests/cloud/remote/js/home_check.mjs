// Runs cloud/static/remote/link.js (one home on /home, without its DOM) against a hub played
// here with WebCrypto: pairing, the snapshot and events shown, replays and forgeries not
// shown, a command and its reply, "offline", a reload, and the keys message cleared. Prints
// what the view was told as JSON; tests/cloud/remote/test_js_home.py holds the expectations.
const base = new URL("../../../../cloud/static/remote/", import.meta.url);
const crypto = await import(new URL("crypto.js", base));
const { b64decode, b64encode, concatBytes, utf8Encoder } = await import(new URL("encoding.js", base));
const { PairingStore } = await import(new URL("keystore.js", base));
const { HomeLink, topicsOf } = await import(new URL("link.js", base));

const subtle = globalThis.crypto.subtle;
const HUB = "0123456789abcdef0123456789abcdef";
const CODE = "7K3M9-P2QXR";
const topics = topicsOf(HUB);
let clock = Date.parse("2026-12-05T17:00:00Z");
const now = () => clock;
const iso = () => new Date(clock).toISOString();

class RecordingView {
  constructor() {
    this.calls = [];
  }
  record(name, ...args) {
    this.calls.push([name, ...args]);
  }
  showWaiting() { this.record("waiting"); }
  showPairForm(reason) { this.record("pair_form", reason); }
  showPairWaiting() { this.record("pair_waiting"); }
  showPairError(text) { this.record("pair_error", text); }
  showPaired(check) { this.record("paired", check); }
  showOffline(offline, sentAt) { this.record("offline", offline, sentAt); }
  showSnapshot(name, entities) { this.record("snapshot", name, entities.map((e) => [e.entity_id, e.state])); }
  showEntity(entity) { this.record("entity", entity.entity_id, entity.state); }
  showReply(entityId, text) { this.record("reply", entityId, text); }
}

class RecordingBroker {
  constructor() {
    this.subscribed = [];
    this.published = [];
    this.connected = true;
  }
  subscribe(list) { this.subscribed.push(...list); }
  publish(topic, payload) {
    if (!this.connected) return false;
    this.published.push([topic, payload]);
    return true;
  }
}

// The hub, played with WebCrypto.
const hub = {
  keyPair: await subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]),
  secret: globalThis.crypto.getRandomValues(new Uint8Array(32)),
  kid: "00112233445566ff",
  counter: new crypto.SendCounter(),
};
hub.key = await crypto.importHouseholdKey(hub.secret);
hub.point = await crypto.exportPublicPoint(hub.keyPair.publicKey);

async function hubWelcome(helloText, code = CODE) {
  const hello = JSON.parse(helloText);
  const pk = await crypto.derivePairingKey(code, HUB);
  const helloMac = utf8Encoder.encode(`hello\n${HUB}\n${hello.browser}\n${hello.pub}\n${hello.name}`);
  const macOk = await subtle.verify("HMAC", pk, b64decode(hello.mac), helloMac);
  const hubPub = b64encode(hub.point);
  const macInput = utf8Encoder.encode(`welcome\n${HUB}\n${hello.browser}\n${hubPub}\n${hello.pub}`);
  const mac = b64encode(new Uint8Array(await subtle.sign("HMAC", pk, macInput)));
  const check = await crypto.checkDigits(hub.point, b64decode(hello.pub));
  return { macOk, hello, welcome: JSON.stringify({ v: 1, pub: hubPub, check, mac }), check };
}

async function hubKeysMessage(browser, browserPub) {
  const browserKey = await subtle.importKey("raw", b64decode(browserPub), { name: "ECDH", namedCurve: "P-256" }, false, []);
  const shared = await subtle.deriveBits({ name: "ECDH", public: browserKey }, hub.keyPair.privateKey, 256);
  const ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  const wrap = await subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: utf8Encoder.encode(HUB), info: utf8Encoder.encode(`ethos-wrap-v1:${browser}`) },
    ikm, { name: "AES-GCM", length: 256 }, false, ["encrypt"]
  );
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const wrapped = await subtle.encrypt({ name: "AES-GCM", iv, additionalData: crypto.keysAad(HUB, browser, hub.kid) }, wrap, hub.secret);
  return JSON.stringify({ v: 1, kid: hub.kid, iv: b64encode(iv), wrapped: b64encode(new Uint8Array(wrapped)) });
}

const hubSeal = (topic, message) =>
  crypto.sealEnvelope({ key: hub.key, kid: hub.kid, sender: "hub", topic, ctr: hub.counter.next(clock * 1000), message });
const entity = (state) => ({
  entity_id: "binary_sensor.hall_occupancy", name: "Hall occupancy", domain: "binary_sensor", state,
  attributes: {}, device: "Presence EPD-000123", room: "Hall", controls: [],
});
const holdTime = {
  entity_id: "number.hall_hold_time", name: "Hold time", domain: "number", state: "60",
  attributes: { unit_of_measurement: "s" }, device: "Presence EPD-000123", room: "Hall",
  controls: [{ service: "number.set_value", label: "Hold time", field: "value", min: 5, max: 600, step: 5 }],
};

const result = {};
const store = await new PairingStore().open();
const broker = new RecordingBroker();
const view = new RecordingView();
const link = new HomeLink({ hub: HUB, name: "Home", store, mqtt: broker, view, now, browserName: "Node on Linux" });
await link.start();
await link.pair("not a code");
await link.pair(CODE);
const [helloTopic, helloText] = broker.published.at(-1);
const browser = JSON.parse(helloText).browser;
result.hello_topic_ok = helloTopic === topics.hello(browser);
result.subscribed_before_hello = broker.subscribed.includes(topics.welcome(browser)) && broker.subscribed.includes(topics.keys(browser));
const answered = await hubWelcome(helloText);
result.hub_checked_hello_mac = answered.macOk;
result.expected_check = answered.check;
// The keys message overtakes the welcome: it is held until the welcome is verified.
const keysText = await hubKeysMessage(browser, answered.hello.pub);
await link.receive(topics.keys(browser), utf8Encoder.encode(keysText), true);
await link.receive(topics.welcome(browser), utf8Encoder.encode(answered.welcome), false);
result.stored_private_key_extractable = (await store.get(HUB)).privateKey.extractable;
link.connected();

const snapshot = await hubSeal(topics.state, { type: "snapshot", sent_at: iso(), hub_name: "Maison", entities: [entity("off"), holdTime] });
await link.receive(topics.state, utf8Encoder.encode(snapshot), true);
clock += 5000;
const event = await hubSeal(topics.event, { type: "state", sent_at: iso(), entity: entity("on") });
await link.receive(topics.event, utf8Encoder.encode(event), false);
view.record("mark", "replay and forgeries follow");
await link.receive(topics.event, utf8Encoder.encode(event), false); // replayed by the broker
const forged = JSON.parse(await hubSeal(topics.event, { type: "state", sent_at: iso(), entity: entity("forged") }));
const ct = b64decode(forged.ct);
ct[0] ^= 1;
await link.receive(topics.event, utf8Encoder.encode(JSON.stringify({ ...forged, ct: b64encode(ct) })), false);
const otherKey = await crypto.importHouseholdKey(new Uint8Array(32));
const foreign = await crypto.sealEnvelope({ key: otherKey, kid: "ffffffffffffffff", sender: "hub", topic: topics.event, ctr: hub.counter.next(clock * 1000), message: { type: "state", sent_at: iso(), entity: entity("foreign") } });
await link.receive(topics.event, utf8Encoder.encode(foreign), false);
const moved = await hubSeal(topics.reply(browser), { type: "state", sent_at: iso(), entity: entity("moved") });
await link.receive(topics.event, utf8Encoder.encode(moved), false);
view.record("mark", "command");

await link.command("number.hall_hold_time", holdTime.controls[0], 30);
const [cmdTopic, cmdText] = broker.published.at(-1);
result.command_topic_ok = cmdTopic === topics.cmd(browser);
const hubOpener = new crypto.EnvelopeOpener(hub.kid, hub.key);
const command = await hubOpener.open(cmdTopic, cmdText, { expectSender: browser });
result.command = { ...command.message, id: typeof command.message.id };
result.command_counter_near_clock = Math.abs(command.ctr - clock * 1000) < 1000;
const reply = await hubSeal(topics.reply(browser), { type: "reply", id: command.message.id, ok: false, error: "guests may not change settings" });
await link.receive(topics.reply(browser), utf8Encoder.encode(reply), false);
await link.command("number.hall_hold_time", holdTime.controls[0], 45);
const second = await hubOpener.open(...broker.published.at(-1), { expectSender: browser });
const secondReply = await hubSeal(topics.reply(browser), { type: "reply", id: second.message.id, ok: true });
// An event the hub sealed after that reply overtakes it: MQTT orders per topic only (#19).
const overtaking = await hubSeal(topics.event, { type: "state", sent_at: iso(), entity: entity("off") });
await link.receive(topics.event, utf8Encoder.encode(overtaking), false);
await link.receive(topics.reply(browser), utf8Encoder.encode(secondReply), false);
view.record("mark", "silence");

const lastSentAt = iso();
clock += 60 * 1000;
link.tick();
clock += 31 * 1000;
link.tick();
link.tick();
clock += 1000;
await link.receive(topics.state, utf8Encoder.encode(await hubSeal(topics.state, { type: "snapshot", sent_at: iso(), hub_name: "Maison", entities: [entity("off")] })), false);
result.last_sent_at = lastSentAt;
view.record("mark", "reload");

// The page is opened again: the pairing comes from the store, the retained snapshot may
// arrive before the retained keys message.
const view2 = new RecordingView();
const broker2 = new RecordingBroker();
const reloaded = new HomeLink({ hub: HUB, name: "Home", store, mqtt: broker2, view: view2, now });
await reloaded.start();
reloaded.connected();
result.reload_subscribed = broker2.subscribed;
clock += 1000;
const retained = await hubSeal(topics.state, { type: "snapshot", sent_at: iso(), hub_name: "Maison", entities: [entity("on")] });
await reloaded.receive(topics.state, utf8Encoder.encode(retained), true);
await reloaded.receive(topics.keys(browser), utf8Encoder.encode(keysText), true);
view2.record("mark", "keys cleared");
await reloaded.receive(topics.keys(browser), new Uint8Array(0), true);
result.pairing_after_clear = (await store.get(HUB)) ?? null;

// Paired earlier, but the hub cleared the keys message while this browser was away: the
// hub's messages come, no key does.
await store.put({ ...(await (async () => {
  const b2 = new RecordingBroker();
  const v2 = new RecordingView();
  const pairer = new HomeLink({ hub: HUB, name: "Home", store, mqtt: b2, view: v2, now });
  await pairer.start();
  await pairer.pair(CODE);
  const a = await hubWelcome(b2.published.at(-1)[1]);
  await pairer.receive(topics.welcome(a.hello.browser), utf8Encoder.encode(a.welcome), false);
  return await store.get(HUB);
})()) });
const view3 = new RecordingView();
const away = new HomeLink({ hub: HUB, name: "Home", store, mqtt: new RecordingBroker(), view: view3, now });
await away.start();
away.connected();
await away.receive(topics.state, utf8Encoder.encode(await hubSeal(topics.state, { type: "snapshot", sent_at: iso(), hub_name: "Maison", entities: [] })), true);
away.tick();
clock += 11 * 1000;
away.tick();

result.views = [view.calls, view2.calls, view3.calls];
process.stdout.write(JSON.stringify(result));
