// Byte encodings shared by the remote-access modules: base64url without padding (REMOTE.md's
// "b64"), UTF-8, and hex. Decoders are strict: a malformed value throws instead of guessing.

const B64URL = /^[A-Za-z0-9_-]*$/;
const HEX = /^[0-9a-f]*$/;

export const utf8Encoder = new TextEncoder();
export const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export function b64encode(bytes) {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function b64decode(text) {
  if (typeof text !== "string" || !B64URL.test(text) || text.length % 4 === 1) {
    throw new TypeError("not base64url without padding");
  }
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index += 1) {
    bytes[index] = binary.charCodeAt(index);
  }
  return bytes;
}

export function hexencode(bytes) {
  return Array.from(new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function hexdecode(text) {
  if (typeof text !== "string" || !HEX.test(text) || text.length % 2 !== 0) {
    throw new TypeError("not lowercase hex");
  }
  const bytes = new Uint8Array(text.length / 2);
  for (let index = 0; index < bytes.length; index += 1) {
    bytes[index] = parseInt(text.slice(index * 2, index * 2 + 2), 16);
  }
  return bytes;
}

export function concatBytes(...parts) {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

export function randomHex(byteCount) {
  return hexencode(globalThis.crypto.getRandomValues(new Uint8Array(byteCount)));
}
