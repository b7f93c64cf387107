// Broker credentials for this signed-in person: POST to the page's token URL with the CSRF
// header (never cached: the service worker leaves POSTs and /home/broker-token alone), kept
// until shortly before they expire or until the broker refuses them.

import { b64decode, utf8Decoder } from "./encoding.js";

const RENEW_BEFORE_MS = 30 * 1000;

export class TokenError extends Error {
  constructor(message, { signedOut = false } = {}) {
    super(message);
    this.name = "TokenError";
    this.signedOut = signedOut;
  }
}

/** The `sub` claim of a JWT (the broker's username); the store signed it, we only read it. */
export function tokenSubject(token) {
  const parts = String(token).split(".");
  if (parts.length !== 3) {
    throw new TokenError("the store's broker token is not a JWT");
  }
  const claims = JSON.parse(utf8Decoder.decode(b64decode(parts[1])));
  if (typeof claims.sub !== "string") {
    throw new TokenError("the store's broker token names no subject");
  }
  return claims.sub;
}

export class BrokerTokens {
  constructor(url, csrfToken, { fetchImpl = (...args) => globalThis.fetch(...args) } = {}) {
    this.url = url;
    this.csrfToken = csrfToken;
    this.fetchImpl = fetchImpl;
    this.answer = null;
    this.expiresAtMs = 0;
  }

  /** The store's answer: `{ws_url, token?, expires_in?, homes}`. */
  async fetchAnswer() {
    const response = await this.fetchImpl(this.url, {
      method: "POST",
      headers: { "X-CSRF-Token": this.csrfToken, Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    });
    if (response.status === 401 || response.status === 403) {
      throw new TokenError("you are signed out: sign in again", { signedOut: true });
    }
    if (response.status === 503) {
      throw new TokenError("remote access is not available on this store right now");
    }
    if (!response.ok) {
      throw new TokenError(`the store answered ${response.status}`);
    }
    const answer = await response.json();
    if (!Array.isArray(answer.homes)) {
      throw new TokenError("the store's answer lists no homes");
    }
    this.answer = answer;
    this.expiresAtMs = Date.now() + Number(answer.expires_in ?? 0) * 1000;
    return answer;
  }

  /** `{url, username, password}` for MqttClient; `fresh` fetches a new token whatever. */
  async credentials({ fresh = false } = {}) {
    if (fresh || this.answer === null || Date.now() > this.expiresAtMs - RENEW_BEFORE_MS) {
      await this.fetchAnswer();
    }
    const { token, ws_url: url, client_id: clientId } = this.answer;
    if (!token) {
      throw new TokenError("no home lets this account in any more");
    }
    return { url, username: tokenSubject(token), password: token, clientId };
  }
}
