// Runs cloud/static/remote/mqtt.js's encoder, decoder and client (over a scripted stand-in
// WebSocket) and prints what it produced as JSON; tests/cloud/remote/test_js_mqtt.py holds
// the expected bytes, written from the MQTT 3.1.1 specification.
const mqtt = await import(new URL("../../../../cloud/static/remote/mqtt.js", import.meta.url));

const hex = (bytes) => Buffer.from(bytes).toString("hex");
const unhex = (text) => new Uint8Array(Buffer.from(text, "hex"));
const result = {};

result.remaining_lengths = Object.fromEntries(
  [0, 127, 128, 16383, 16384, 2097151, 2097152, 268435455].map((n) => [n, hex(mqtt.encodeRemainingLength(n))])
);
result.remaining_length_too_big = (() => {
  try {
    mqtt.encodeRemainingLength(268435456);
    return "accepted";
  } catch (error) {
    return error.name;
  }
})();
result.connect = hex(mqtt.encodeConnect({ clientId: "web-ab", username: "user-1", password: "tok", keepAliveS: 30 }));
result.subscribe = hex(mqtt.encodeSubscribe(7, ["a/b", "c/#"]));
result.publish = hex(mqtt.encodePublish("t/x", "hi"));
result.publish_retained = hex(mqtt.encodePublish("t/x", new Uint8Array([1, 2]), { retain: true }));
result.pingreq = hex(mqtt.encodePingreq());
result.disconnect = hex(mqtt.encodeDisconnect());

const show = (packet) => ({ ...packet, payload: packet.payload === undefined ? undefined : hex(packet.payload) });
const decode = (text) => {
  try {
    return new mqtt.PacketReader().feed(unhex(text)).map(show);
  } catch (error) {
    return error.name;
  }
};
const decodes = JSON.parse(process.argv[2]);
result.decoded = Object.fromEntries(Object.entries(decodes).map(([name, text]) => [name, decode(text)]));

// The same bytes fed one at a time give the same packets.
const bytewise = new mqtt.PacketReader();
const stream = unhex(decodes.connack_ok + decodes.publish_retained + decodes.suback);
result.bytewise = stream.reduce((packets, byte) => packets.concat(bytewise.feed([byte]).map(show)), []);

// An oversized packet is skipped in pieces, and the packet after it still decodes.
const bounded = new mqtt.PacketReader(16);
const big = mqtt.encodePublish("t", new Uint8Array(100));
const after = mqtt.encodePublish("t", "ok");
const pieces = [big.slice(0, 5), big.slice(5, 60), new Uint8Array([...big.slice(60), ...after])];
result.after_oversized = pieces.flatMap((piece) => bounded.feed(piece).map(show));
result.oversized_dropped = bounded.dropped;
result.oversized_pending = bounded.pending.length;

result.backoff = [0, 1, 2, 5, 6, 10].map((attempt) => [
  mqtt.backoffDelayMs(attempt, () => 0),
  mqtt.backoffDelayMs(attempt, () => 0.999999),
]);

// The client against a scripted broker: refused once (code 4), then accepted.
class ScriptedSocket {
  static opened = [];
  constructor(url, protocol) {
    this.url = url;
    this.protocol = protocol;
    this.readyState = 1;
    this.sent = [];
    ScriptedSocket.opened.push(this);
    queueMicrotask(() => this.onopen());
  }
  send(bytes) {
    this.sent.push(hex(bytes));
  }
  close() {
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.());
  }
  receive(text) {
    this.onmessage({ data: unhex(text).buffer });
  }
}
const events = [];
const tokens = [];
const timers = [];
const client = new mqtt.MqttClient({
  clientId: "web-01",
  WebSocketImpl: ScriptedSocket,
  credentials: async ({ fresh }) => {
    tokens.push(fresh);
    return { url: "ws://broker/ws", username: "user-1", password: `token-${tokens.length}` };
  },
  onStatus: (state, detail) => events.push(["status", state, detail]),
  onMessage: (topic, payload, retain) => events.push(["message", topic, hex(payload), retain]),
  onSubscribeRefused: (topic) => events.push(["refused", topic]),
  schedule: (callback, ms) => timers.push({ callback, ms }) - 1,
  cancel: () => {},
  random: () => 0,
});
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
client.subscribe(["home/a", "home/b"]);
client.start();
await settle();
const first = ScriptedSocket.opened[0];
first.receive("20020004");
await settle();
timers.shift().callback(); // the backoff's wait
await settle();
const second = ScriptedSocket.opened[1];
second.receive("20020000");
second.receive("900400010080");
second.receive(decodes.publish_retained);
result.published_while_connected = client.publish("home/a/cmd", "x");
await settle();
client.stop();
result.published_when_stopped = client.publish("home/a/cmd", "x");
result.client = {
  events,
  tokens_fresh: tokens,
  first_protocol: first.protocol,
  first_sent: first.sent,
  second_sent: second.sent,
};
process.stdout.write(JSON.stringify(result));
