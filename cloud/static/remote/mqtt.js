// A small MQTT 3.1.1 client over WebSocket (subprotocol "mqtt"), enough for remote access:
// CONNECT with a token as password, SUBSCRIBE, PUBLISH at QoS 0 (and retained ones received),
// PINGREQ keep-alive, and reconnection with backoff that asks for fresh credentials when the
// broker refused or dropped the old ones. Packets larger than MAX_PACKET_BYTES are skipped
// without being buffered, so memory stays bounded whatever the broker sends.

import { utf8Decoder, utf8Encoder } from "./encoding.js";

export const MAX_PACKET_BYTES = 64 * 1024 + 1024; // a 64 KiB payload plus topic and header
const MAX_REMAINING_LENGTH = 268435455;
const PROTOCOL_LEVEL = 4; // MQTT 3.1.1
const SUBACK_FAILURE = 0x80;

export const PacketType = Object.freeze({
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
});

// MQTT 3.1.1 section 3.2.2.3, said for a person.
export const CONNACK_ERRORS = Object.freeze({
  1: "the broker does not speak MQTT 3.1.1",
  2: "the broker refused this connection's client id",
  3: "the remote-access broker is unavailable",
  4: "the broker refused the sign-in (token expired or wrong)",
  5: "the broker says this account may not connect",
});

export class MqttProtocolError extends Error {
  constructor(message) {
    super(message);
    this.name = "MqttProtocolError";
  }
}

// ------------------------------------------------------------------------------- encoding

export function encodeRemainingLength(length) {
  if (!Number.isInteger(length) || length < 0 || length > MAX_REMAINING_LENGTH) {
    throw new RangeError(`remaining length ${length} out of range`);
  }
  const bytes = [];
  let rest = length;
  do {
    let digit = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) {
      digit |= 0x80;
    }
    bytes.push(digit);
  } while (rest > 0);
  return Uint8Array.from(bytes);
}

function encodeBytesField(bytes) {
  if (bytes.length > 0xffff) {
    throw new RangeError("a string field holds at most 65535 bytes");
  }
  const field = new Uint8Array(2 + bytes.length);
  field[0] = bytes.length >> 8;
  field[1] = bytes.length & 0xff;
  field.set(bytes, 2);
  return field;
}

export function encodeString(value) {
  return encodeBytesField(utf8Encoder.encode(value));
}

function packet(firstByte, ...parts) {
  const bodyLength = parts.reduce((sum, part) => sum + part.length, 0);
  const header = encodeRemainingLength(bodyLength);
  const frame = new Uint8Array(1 + header.length + bodyLength);
  frame[0] = firstByte;
  frame.set(header, 1);
  let offset = 1 + header.length;
  for (const part of parts) {
    frame.set(part, offset);
    offset += part.length;
  }
  return frame;
}

function uint16(value) {
  return Uint8Array.of(value >> 8, value & 0xff);
}

export function encodeConnect({ clientId, username, password, keepAliveS = 30 }) {
  let flags = 0x02; // clean session: nothing is queued for a browser tab
  const payload = [encodeString(clientId)];
  if (username !== undefined) {
    flags |= 0x80;
    payload.push(encodeString(username));
  }
  if (password !== undefined) {
    flags |= 0x40;
    payload.push(encodeString(password));
  }
  const variable = Uint8Array.of(0, 4, 0x4d, 0x51, 0x54, 0x54, PROTOCOL_LEVEL, flags);
  return packet(PacketType.CONNECT << 4, variable, uint16(keepAliveS), ...payload);
}

export function encodeSubscribe(packetId, topics) {
  const filters = topics.flatMap((topic) => [encodeString(topic), Uint8Array.of(0)]);
  return packet((PacketType.SUBSCRIBE << 4) | 0x02, uint16(packetId), ...filters);
}

export function encodePublish(topic, payload, { retain = false } = {}) {
  const body = typeof payload === "string" ? utf8Encoder.encode(payload) : payload;
  return packet((PacketType.PUBLISH << 4) | (retain ? 1 : 0), encodeString(topic), body);
}

export function encodePingreq() {
  return Uint8Array.of(PacketType.PINGREQ << 4, 0);
}

export function encodeDisconnect() {
  return Uint8Array.of(PacketType.DISCONNECT << 4, 0);
}

// ------------------------------------------------------------------------------- decoding

function readUint16(body, offset) {
  if (offset + 2 > body.length) {
    throw new MqttProtocolError("packet ends inside a length field");
  }
  return (body[offset] << 8) | body[offset + 1];
}

/** One packet's meaning from its first byte and body (the bytes after the remaining length). */
export function decodePacket(firstByte, body) {
  const type = firstByte >> 4;
  const flags = firstByte & 0x0f;
  switch (type) {
    case PacketType.CONNACK:
      if (body.length !== 2) {
        throw new MqttProtocolError("CONNACK has 2 bytes");
      }
      return { type, sessionPresent: (body[0] & 1) === 1, returnCode: body[1] };
    case PacketType.SUBACK:
      return { type, packetId: readUint16(body, 0), granted: Array.from(body.subarray(2)) };
    case PacketType.UNSUBACK:
      return { type, packetId: readUint16(body, 0) };
    case PacketType.PINGRESP:
      return { type };
    case PacketType.PUBLISH: {
      const qos = (flags >> 1) & 0x03;
      if (qos === 3) {
        throw new MqttProtocolError("PUBLISH with QoS 3");
      }
      const topicLength = readUint16(body, 0);
      if (2 + topicLength > body.length) {
        throw new MqttProtocolError("PUBLISH topic runs past the packet");
      }
      let topic;
      try {
        topic = utf8Decoder.decode(body.subarray(2, 2 + topicLength));
      } catch {
        throw new MqttProtocolError("PUBLISH topic is not UTF-8");
      }
      let offset = 2 + topicLength;
      let packetId;
      if (qos > 0) {
        packetId = readUint16(body, offset);
        offset += 2;
      }
      return {
        type,
        topic,
        payload: body.slice(offset),
        retain: (flags & 1) === 1,
        dup: (flags & 0x08) === 0x08,
        qos,
        packetId,
      };
    }
    default:
      throw new MqttProtocolError(`unexpected packet type ${type} from the broker`);
  }
}

/**
 * Splits the broker's byte stream (WebSocket messages may hold several packets or part of
 * one) into packets. A packet announced larger than `maxPacketBytes` is skipped as its bytes
 * arrive, never buffered; `dropped` counts them.
 */
export class PacketReader {
  constructor(maxPacketBytes = MAX_PACKET_BYTES) {
    this.maxPacketBytes = maxPacketBytes;
    this.pending = new Uint8Array(0);
    this.skipping = 0;
    this.dropped = 0;
  }

  /** Feed bytes; returns the decoded packets they completed. */
  feed(chunk) {
    let data = new Uint8Array(chunk);
    if (this.skipping > 0) {
      const skipped = Math.min(this.skipping, data.length);
      this.skipping -= skipped;
      data = data.subarray(skipped);
    }
    const joined = new Uint8Array(this.pending.length + data.length);
    joined.set(this.pending, 0);
    joined.set(data, this.pending.length);
    const packets = [];
    let offset = 0;
    while (offset < joined.length) {
      const header = this.#readHeader(joined, offset);
      if (header === null) {
        break; // the remaining length is not complete yet
      }
      const { headerLength, remaining } = header;
      if (remaining > this.maxPacketBytes) {
        this.dropped += 1;
        const available = joined.length - offset - headerLength;
        const skipNow = Math.min(available, remaining);
        this.skipping = remaining - skipNow;
        offset += headerLength + skipNow;
        continue;
      }
      if (offset + headerLength + remaining > joined.length) {
        break;
      }
      const start = offset + headerLength;
      packets.push(decodePacket(joined[offset], joined.subarray(start, start + remaining)));
      offset = start + remaining;
    }
    this.pending = joined.slice(offset);
    return packets;
  }

  #readHeader(bytes, offset) {
    let remaining = 0;
    let multiplier = 1;
    for (let index = 1; index <= 4; index += 1) {
      if (offset + index >= bytes.length) {
        return null;
      }
      const digit = bytes[offset + index];
      remaining += (digit & 0x7f) * multiplier;
      if ((digit & 0x80) === 0) {
        return { headerLength: 1 + index, remaining };
      }
      multiplier *= 128;
    }
    throw new MqttProtocolError("remaining length longer than 4 bytes");
  }
}

// --------------------------------------------------------------------------------- client

const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 60000;

/** The wait before reconnect attempt `attempt` (0-based): 1 s doubling to 60 s, with jitter. */
export function backoffDelayMs(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * One connection to the broker that keeps itself up. `credentials({fresh})` resolves to
 * `{url, username, password, clientId?}` (a token tied to one client id names it); `fresh`
 * asks for a new token (the broker refused or dropped the last one). Callbacks: `onMessage(topic, payload, retain)`, `onStatus(state, detail)` with
 * state "connecting" | "connected" | "refused" | "disconnected" | "stopped", and
 * `onSubscribeRefused(topic)` for a SUBACK 0x80.
 */
export class MqttClient {
  constructor({
    credentials,
    clientId,
    keepAliveS = 30,
    onMessage = () => {},
    onStatus = () => {},
    onSubscribeRefused = () => {},
    WebSocketImpl = globalThis.WebSocket,
    schedule = (callback, ms) => setTimeout(callback, ms),
    cancel = (handle) => clearTimeout(handle),
    random = Math.random,
  }) {
    this.credentials = credentials;
    this.clientId = clientId;
    this.keepAliveS = keepAliveS;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onSubscribeRefused = onSubscribeRefused;
    this.WebSocketImpl = WebSocketImpl;
    this.schedule = schedule;
    this.cancel = cancel;
    this.random = random;
    this.topics = [];
    this.pendingSubscriptions = new Map();
    this.nextPacketId = 1;
    this.socket = null;
    this.connected = false;
    this.stopped = true;
    this.attempt = 0;
    this.needFreshToken = false;
    this.timer = null;
    this.pingTimer = null;
    this.awaitingPong = false;
  }

  start() {
    this.stopped = false;
    this.#connect();
  }

  stop() {
    this.stopped = true;
    this.#clearTimers();
    if (this.socket !== null) {
      if (this.connected) {
        this.#send(encodeDisconnect());
      }
      this.socket.close();
      this.socket = null;
    }
    this.connected = false;
    this.onStatus("stopped", "");
  }

  /** Subscribe now if connected, and again after every reconnection. */
  subscribe(topics) {
    const added = topics.filter((topic) => !this.topics.includes(topic));
    this.topics.push(...added);
    if (this.connected && added.length > 0) {
      this.#sendSubscribe(added);
    }
  }

  /** Publish at QoS 0; false when not connected (the caller says so to the person). */
  publish(topic, payload, options = {}) {
    if (!this.connected) {
      return false;
    }
    this.#send(encodePublish(topic, payload, options));
    return true;
  }

  async #connect() {
    if (this.stopped) {
      return;
    }
    this.onStatus("connecting", "");
    let credentials;
    try {
      credentials = await this.credentials({ fresh: this.needFreshToken });
    } catch (error) {
      this.#retry("disconnected", `no broker token: ${error.message}`);
      return;
    }
    if (this.stopped) {
      return;
    }
    this.needFreshToken = false;
    const reader = new PacketReader();
    let socket;
    try {
      socket = new this.WebSocketImpl(credentials.url, "mqtt");
    } catch (error) {
      this.#retry("disconnected", `cannot open ${credentials.url}: ${error.message}`);
      return;
    }
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      this.#send(
        encodeConnect({
          clientId: credentials.clientId ?? this.clientId,
          username: credentials.username,
          password: credentials.password,
          keepAliveS: this.keepAliveS,
        })
      );
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket || typeof event.data === "string") {
        return;
      }
      let packets;
      try {
        packets = reader.feed(new Uint8Array(event.data));
      } catch (error) {
        socket.close();
        this.#lost(socket, `broker sent a malformed packet: ${error.message}`);
        return;
      }
      for (const received of packets) {
        this.#handle(received, socket);
      }
    };
    socket.onerror = () => {};
    socket.onclose = () => {
      this.#lost(socket, "connection to the broker closed");
    };
  }

  #handle(received, socket) {
    switch (received.type) {
      case PacketType.CONNACK:
        if (received.returnCode !== 0) {
          const why = CONNACK_ERRORS[received.returnCode] ?? `refused (${received.returnCode})`;
          // Refused sign-ins are retried with a fresh token: it may simply have expired.
          this.needFreshToken = received.returnCode === 4 || received.returnCode === 5;
          this.socket = null;
          socket.close();
          this.#retry("refused", why);
          return;
        }
        this.connected = true;
        this.attempt = 0;
        this.#startKeepAlive();
        this.onStatus("connected", "");
        if (this.topics.length > 0) {
          this.#sendSubscribe(this.topics);
        }
        return;
      case PacketType.SUBACK: {
        const topics = this.pendingSubscriptions.get(received.packetId) ?? [];
        this.pendingSubscriptions.delete(received.packetId);
        received.granted.forEach((code, index) => {
          if (code === SUBACK_FAILURE && topics[index] !== undefined) {
            this.onSubscribeRefused(topics[index]);
          }
        });
        return;
      }
      case PacketType.PINGRESP:
        this.awaitingPong = false;
        return;
      case PacketType.PUBLISH:
        this.onMessage(received.topic, received.payload, received.retain);
        return;
      default:
        return;
    }
  }

  #lost(socket, why) {
    if (this.socket !== socket) {
      return; // an old socket, already replaced or deliberately closed
    }
    this.socket = null;
    // A broker that drops a signed-in connection may have found its token expired or revoked.
    this.needFreshToken = this.needFreshToken || this.connected;
    this.connected = false;
    this.#retry("disconnected", why);
  }

  #retry(state, why) {
    this.#clearTimers();
    this.connected = false;
    this.onStatus(state, why);
    if (this.stopped) {
      return;
    }
    const delay = backoffDelayMs(this.attempt, this.random);
    this.attempt += 1;
    this.timer = this.schedule(() => {
      this.timer = null;
      this.#connect();
    }, delay);
  }

  #sendSubscribe(topics) {
    const packetId = this.nextPacketId;
    this.nextPacketId = (this.nextPacketId % 0xffff) + 1;
    this.pendingSubscriptions.set(packetId, topics);
    this.#send(encodeSubscribe(packetId, topics));
  }

  #startKeepAlive() {
    this.awaitingPong = false;
    const tick = () => {
      if (!this.connected || this.socket === null) {
        return;
      }
      if (this.awaitingPong) {
        const socket = this.socket;
        socket.close();
        this.#lost(socket, "the broker stopped answering");
        return;
      }
      this.awaitingPong = true;
      this.#send(encodePingreq());
      this.pingTimer = this.schedule(tick, this.keepAliveS * 1000);
    };
    this.pingTimer = this.schedule(tick, this.keepAliveS * 1000);
  }

  #clearTimers() {
    if (this.timer !== null) {
      this.cancel(this.timer);
      this.timer = null;
    }
    if (this.pingTimer !== null) {
      this.cancel(this.pingTimer);
      this.pingTimer = null;
    }
  }

  #send(bytes) {
    if (this.socket !== null && this.socket.readyState === 1) {
      this.socket.send(bytes);
    }
  }
}
