// End-to-end encryption of remote access with WebCrypto, exactly as REMOTE.md fixes it: the
// envelope (AES-256-GCM under the household key, AAD binding topic, kid, sender and counter),
// replay refusal per sender and topic, and pairing (PBKDF2 code key, HMAC both ways, ECDH P-256, HKDF
// wrap key, the keys message, check digits). Pure functions over CryptoKeys: storing keys is
// keystore.js's business, so the same code runs in the page and under Node in the tests.

import { b64decode, b64encode, concatBytes, utf8Decoder, utf8Encoder } from "./encoding.js";

const subtle = globalThis.crypto.subtle;

export const MAX_PAYLOAD_BYTES = 64 * 1024;
export const HUB_SENDER = "hub";
const ENVELOPE_VERSION = 1;
const ENVELOPE_LABEL = "ethos-remote-v1";
const KEY_LABEL = "ethos-key-v1";
const PAIR_SALT_PREFIX = "ethos-pair-v1:";
const WRAP_INFO_PREFIX = "ethos-wrap-v1:";
const PBKDF2_ITERATIONS = 100000;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KID = /^[0-9a-f]{16}$/;
const BROWSER_ID = /^[0-9a-f]{32}$/;
const CHECK = /^[0-9]{6}$/;
const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]{10}$/;
const P256_POINT_BYTES = 65;

/** Why a message was refused: `reason` is one of the codes below, `message` is for people. */
export class RemoteCryptoError extends Error {
  constructor(reason, message) {
    super(message);
    this.name = "RemoteCryptoError";
    this.reason = reason;
  }
}

function refuse(reason, message) {
  throw new RemoteCryptoError(reason, message);
}

function text(value) {
  return utf8Encoder.encode(value);
}

function parseJsonObject(payload, what) {
  const bytes = typeof payload === "string" ? text(payload) : new Uint8Array(payload);
  if (bytes.length > MAX_PAYLOAD_BYTES) {
    refuse("too_large", `${what} larger than 64 KiB`);
  }
  let parsed;
  try {
    parsed = JSON.parse(utf8Decoder.decode(bytes));
  } catch {
    refuse("malformed", `${what} is not JSON`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    refuse("malformed", `${what} is not a JSON object`);
  }
  return parsed;
}

function decodeField(value, length, what) {
  let bytes;
  try {
    bytes = b64decode(value);
  } catch {
    refuse("malformed", `${what} is not base64url`);
  }
  if (length !== undefined && bytes.length !== length) {
    refuse("malformed", `${what} has ${bytes.length} bytes, not ${length}`);
  }
  return bytes;
}

// ---------------------------------------------------------------------------------- envelope

export async function importHouseholdKey(raw) {
  if (raw.length !== 32) {
    refuse("malformed", "a household key has 32 bytes");
  }
  return subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

export function envelopeAad(topic, kid, sender, ctr) {
  return text(`${ENVELOPE_LABEL}\n${topic}\n${kid}\n${sender}\n${String(ctr)}`);
}

/** A sender's counter: microseconds since the epoch, strictly increasing. */
export class SendCounter {
  constructor(last = 0) {
    this.last = last;
  }

  next(nowUs = Date.now() * 1000) {
    this.last = Math.max(this.last + 1, nowUs);
    return this.last;
  }
}

/**
 * The envelope (JSON text) of `message` (or of ready `plaintext` bytes) on `topic`; `iv` is
 * random unless a test fixes it.
 */
export async function sealEnvelope({ key, kid, sender, topic, ctr, message, plaintext, iv }) {
  const nonce = iv ?? globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: envelopeAad(topic, kid, sender, ctr) },
    key,
    plaintext ?? text(JSON.stringify(message))
  );
  return JSON.stringify({
    v: ENVELOPE_VERSION,
    kid,
    from: sender,
    ctr,
    iv: b64encode(nonce),
    ct: b64encode(new Uint8Array(sealed)),
  });
}

/** Checks an envelope's shape (never its content): `{kid, from, ctr, iv, ct}` or a refusal. */
export function parseEnvelope(payload) {
  const envelope = parseJsonObject(payload, "envelope");
  const { v, kid, from, ctr, iv, ct } = envelope;
  if (v !== ENVELOPE_VERSION) {
    refuse("malformed", "unknown envelope version");
  }
  if (typeof kid !== "string" || typeof from !== "string" || from.length > 64) {
    refuse("malformed", "envelope without kid or sender");
  }
  if (!Number.isSafeInteger(ctr) || ctr < 0) {
    refuse("malformed", "envelope counter is not a whole number");
  }
  const sealed = decodeField(ct, undefined, "ciphertext");
  if (sealed.length < TAG_BYTES) {
    refuse("malformed", "ciphertext shorter than its tag");
  }
  return { kid, from, ctr, iv: decodeField(iv, IV_BYTES, "iv"), ct: sealed };
}

/** (sender, topic) pairs whose last counter an opener remembers (REMOTE.md, "Envelope"). */
export const REPLAY_MAX_STREAMS = 1024;

/**
 * Opens envelopes with the current household key, refusing an unknown kid, a failed tag and
 * a counter at or below the last one accepted from the same sender on the same topic
 * (replay). MQTT orders messages per topic only, so a reply sealed before an event may come
 * after it; the AAD binds the topic, so per topic is sound. The counter is only remembered
 * once the tag checked, so a forgery cannot push it forward. At most `maxStreams` pairs are
 * remembered, the least recently heard forgotten first; the highest forgotten counter is the
 * floor an unknown pair must pass, so forgetting never lets an old message in again.
 */
export class EnvelopeOpener {
  constructor(kid, key, { maxStreams = REPLAY_MAX_STREAMS } = {}) {
    this.kid = kid;
    this.key = key;
    this.maxStreams = maxStreams;
    this.lastCounter = new Map(); // "sender\ntopic" -> counter, least recently heard first
    this.floor = -1;
  }

  /** How many (sender, topic) pairs are remembered. */
  get size() {
    return this.lastCounter.size;
  }

  async open(topic, payload, { expectSender } = {}) {
    const envelope = parseEnvelope(payload);
    if (envelope.kid !== this.kid) {
      refuse("unknown_kid", "sealed with a key this browser does not have");
    }
    if (expectSender !== undefined && envelope.from !== expectSender) {
      refuse("wrong_sender", `sent by ${envelope.from}, expected ${expectSender}`);
    }
    const stream = `${envelope.from}\n${topic}`;
    const last = this.lastCounter.get(stream) ?? this.floor;
    if (envelope.ctr <= last) {
      refuse("replay", "counter not above the last one accepted on this topic (replayed)");
    }
    let plain;
    try {
      plain = await subtle.decrypt(
        {
          name: "AES-GCM",
          iv: envelope.iv,
          additionalData: envelopeAad(topic, envelope.kid, envelope.from, envelope.ctr),
        },
        this.key,
        envelope.ct
      );
    } catch {
      refuse("tampered", "authentication failed (tampered, or another topic or key)");
    }
    const message = parseJsonObject(new Uint8Array(plain), "plaintext");
    this.#remember(stream, envelope.ctr);
    return { sender: envelope.from, ctr: envelope.ctr, message };
  }

  #remember(stream, ctr) {
    // Decrypting awaited: another message on the same topic may have been accepted since.
    const last = this.lastCounter.get(stream) ?? this.floor;
    if (ctr <= last) {
      refuse("replay", "counter not above the last one accepted on this topic (replayed)");
    }
    this.lastCounter.delete(stream); // re-inserted last: the most recently heard
    this.lastCounter.set(stream, ctr);
    while (this.lastCounter.size > this.maxStreams) {
      const [oldest, forgotten] = this.lastCounter.entries().next().value;
      this.lastCounter.delete(oldest);
      this.floor = Math.max(this.floor, forgotten);
    }
  }
}

// ----------------------------------------------------------------------------------- pairing

/** The code as the key derivation wants it: 10 Crockford characters, upper-case, no dash. */
export function normalisePairingCode(code) {
  const cleaned = String(code)
    .toUpperCase()
    .replace(/[\s-]/g, "")
    .replace(/[IL]/g, "1")
    .replace(/O/g, "0");
  if (!CROCKFORD.test(cleaned)) {
    refuse("bad_code", "a pairing code has 10 letters and digits, like ABCDE-12345");
  }
  return cleaned;
}

/** `pk`: PBKDF2-HMAC-SHA256 of the code, salted with the hub id, as an HMAC-SHA256 key. */
export async function derivePairingKey(code, hub) {
  const password = await subtle.importKey(
    "raw",
    text(normalisePairingCode(code)),
    "PBKDF2",
    false,
    ["deriveBits"]
  );
  const bits = await subtle.deriveBits(
    {
      name: "PBKDF2",
      hash: "SHA-256",
      salt: text(PAIR_SALT_PREFIX + hub),
      iterations: PBKDF2_ITERATIONS,
    },
    password,
    256
  );
  return subtle.importKey("raw", bits, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

/** A new ECDH P-256 key pair; the private half cannot be exported, only stored and used. */
export async function generateBrowserKeyPair() {
  return subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
}

export async function exportPublicPoint(publicKey) {
  return new Uint8Array(await subtle.exportKey("raw", publicKey));
}

function helloMacInput(hub, browser, pub, name) {
  return text(`hello\n${hub}\n${browser}\n${pub}\n${name}`);
}

function welcomeMacInput(hub, browser, hubPub, browserPub) {
  return text(`welcome\n${hub}\n${browser}\n${hubPub}\n${browserPub}`);
}

/** The hello message the browser publishes (an object; JSON.stringify it to send). */
export async function buildHello({ pairingKey, hub, browser, name, publicPoint }) {
  const pub = b64encode(publicPoint);
  const mac = await subtle.sign("HMAC", pairingKey, helloMacInput(hub, browser, pub, name));
  return { v: 1, browser, name, pub, mac: b64encode(new Uint8Array(mac)) };
}

/** `check`: SHA-256(hub point ‖ browser point), first 4 bytes big-endian mod 10^6. */
export async function checkDigits(hubPoint, browserPoint) {
  const digest = new Uint8Array(
    await subtle.digest("SHA-256", concatBytes(hubPoint, browserPoint))
  );
  const first = new DataView(digest.buffer).getUint32(0, false);
  return String(first % 1000000).padStart(6, "0");
}

/**
 * Checks the hub's welcome: its MAC (only the real hub knew the code, compared by WebCrypto's
 * verify) and its check digits. Returns the hub's public point and the digits to show.
 */
export async function verifyWelcome({ pairingKey, hub, browser, browserPoint, welcome }) {
  const message = parseJsonObject(welcome, "welcome");
  if (message.v !== 1 || typeof message.pub !== "string" || typeof message.check !== "string") {
    refuse("malformed", "welcome without version, key or check digits");
  }
  const hubPoint = decodeField(message.pub, P256_POINT_BYTES, "hub key");
  const mac = decodeField(message.mac, 32, "welcome MAC");
  const expected = welcomeMacInput(hub, browser, message.pub, b64encode(browserPoint));
  if (!(await subtle.verify("HMAC", pairingKey, mac, expected))) {
    refuse("bad_mac", "the welcome does not come from the hub that showed this code");
  }
  const check = await checkDigits(hubPoint, browserPoint);
  if (!CHECK.test(message.check) || message.check !== check) {
    refuse("bad_check", "the hub's check digits do not match this browser's");
  }
  return { hubPoint, check };
}

/** The wrap key: HKDF-SHA256 over the ECDH secret, salt = hub id, info names the browser. */
export async function deriveWrapKey({ privateKey, hubPoint, hub, browser }) {
  const hubKey = await subtle.importKey(
    "raw",
    hubPoint,
    { name: "ECDH", namedCurve: "P-256" },
    false,
    []
  );
  const shared = await subtle.deriveBits({ name: "ECDH", public: hubKey }, privateKey, 256);
  const ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  return subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: text(hub),
      info: text(WRAP_INFO_PREFIX + browser),
    },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"]
  );
}

export function keysAad(hub, browser, kid) {
  return text(`${KEY_LABEL}\n${hub}\n${browser}\n${kid}`);
}

/** Unwraps the household key from this browser's keys message: `{kid, key}` or a refusal. */
export async function unwrapHouseholdKey({ wrapKey, hub, browser, keysMessage }) {
  const message = parseJsonObject(keysMessage, "keys message");
  if (message.v !== 1 || typeof message.kid !== "string" || !KID.test(message.kid)) {
    refuse("malformed", "keys message without version or kid");
  }
  let raw;
  try {
    raw = await subtle.decrypt(
      {
        name: "AES-GCM",
        iv: decodeField(message.iv, IV_BYTES, "iv"),
        additionalData: keysAad(hub, browser, message.kid),
      },
      wrapKey,
      decodeField(message.wrapped, undefined, "wrapped key")
    );
  } catch (error) {
    if (error instanceof RemoteCryptoError) {
      throw error;
    }
    refuse("tampered", "the keys message did not unwrap (tampered, or not for this browser)");
  }
  return { kid: message.kid, key: await importHouseholdKey(new Uint8Array(raw)) };
}

export function isBrowserId(value) {
  return typeof value === "string" && BROWSER_ID.test(value);
}
