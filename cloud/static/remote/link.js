// One home seen from this browser: pairing with its hub, unwrapping the household key from
// this browser's keys message, opening the hub's snapshots, events and replies (anything
// refused — tampered, replayed, another key — is never shown), sealing commands, and telling
// when the home went quiet. No DOM here: what to show goes to a view (view.js).

import {
  EnvelopeOpener,
  HUB_SENDER,
  SendCounter,
  buildHello,
  derivePairingKey,
  deriveWrapKey,
  exportPublicPoint,
  generateBrowserKeyPair,
  sealEnvelope,
  unwrapHouseholdKey,
  verifyWelcome,
} from "./crypto.js";
import { randomHex } from "./encoding.js";
import { MAX_SNAPSHOT_PARTS, SnapshotAssembler } from "./snapshot.js";

export const OFFLINE_AFTER_MS = 90 * 1000;
export const PAIRING_TIMEOUT_MS = 30 * 1000;
export const REPLY_TIMEOUT_MS = 20 * 1000;
// A paired browser that hears its hub but gets no keys message for this long was removed
// while away (the hub cleared its retained keys message).
export const KEYS_GRACE_MS = 10 * 1000;
const MAX_PENDING_COMMANDS = 32;
const MAX_QUEUED_MESSAGES = 64;
// Hub messages held until the keys message comes: a whole snapshot's parts and a few more.
const MAX_HELD_HUB_MESSAGES = MAX_SNAPSHOT_PARTS + 4;

export function topicsOf(hub) {
  const root = `ethos-home/${hub}`;
  const stateParts = [`${root}/state`];
  for (let part = 1; part < MAX_SNAPSHOT_PARTS; part += 1) {
    stateParts.push(`${root}/state/${part}`);
  }
  return {
    root,
    state: `${root}/state`,
    stateParts, // part 0 on `state`, part i on `state/i` (exact topics: retained on RabbitMQ)
    event: `${root}/event`,
    cmd: (browser) => `${root}/cmd/${browser}`,
    reply: (browser) => `${root}/reply/${browser}`,
    keys: (browser) => `${root}/keys/${browser}`,
    hello: (browser) => `${root}/pair/${browser}/hello`,
    welcome: (browser) => `${root}/pair/${browser}/welcome`,
  };
}

/** A short name for this browser, shown on the hub's list of paired browsers. */
export function browserSummary(userAgent) {
  const agent = String(userAgent);
  const browser =
    [
      ["Edg/", "Edge"],
      ["Firefox/", "Firefox"],
      ["Chrome/", "Chrome"],
      ["Safari/", "Safari"],
    ].find(([marker]) => agent.includes(marker))?.[1] ?? "Browser";
  const system =
    [
      ["Android", "Android"],
      ["iPhone", "iPhone"],
      ["iPad", "iPad"],
      ["Windows", "Windows"],
      ["Mac OS", "macOS"],
      ["Linux", "Linux"],
    ].find(([marker]) => agent.includes(marker))?.[1] ?? "";
  return system ? `${browser} on ${system}` : browser;
}

function sentAtMs(message) {
  const parsed = Date.parse(message.sent_at);
  return Number.isFinite(parsed) ? parsed : null;
}

export class HomeLink {
  constructor({ hub, name, store, mqtt, view, now = () => Date.now(), browserName = "Browser" }) {
    this.hub = hub;
    this.name = name;
    this.topics = topicsOf(hub);
    this.store = store;
    this.mqtt = mqtt;
    this.view = view;
    this.now = now;
    this.browserName = browserName;
    this.pairing = null;
    this.wrapKey = null;
    this.household = null;
    this.opener = null;
    this.snapshots = new SnapshotAssembler();
    this.counter = new SendCounter();
    this.pendingPairing = null;
    this.pendingKeys = null;
    this.heldHubMessages = [];
    this.commands = new Map();
    this.lastHeardMs = null;
    this.lastSentAt = null;
    this.connectedAtMs = null;
    this.offline = false;
    this.queue = Promise.resolve();
    this.queued = 0;
  }

  async start() {
    const pairing = await this.store.get(this.hub);
    if (pairing) {
      await this.#usePairing(pairing);
      this.view.showWaiting();
    } else {
      this.view.showPairForm(null);
    }
  }

  /** The broker (re)connected: subscriptions are renewed by the client, timers start over. */
  connected() {
    this.connectedAtMs = this.now();
  }

  disconnected() {
    this.connectedAtMs = null;
  }

  /** Messages of this home, handled one after the other (keys before what they open). */
  receive(topic, payload, retain) {
    if (this.queued >= MAX_QUEUED_MESSAGES) {
      return this.queue; // flooded: drop rather than grow without bound
    }
    this.queued += 1;
    this.queue = this.queue
      .then(() => this.#receive(topic, payload, retain))
      .catch((error) => console.warn("ethos remote:", error))
      .finally(() => {
        this.queued -= 1;
      });
    return this.queue;
  }

  async pair(code) {
    if (this.pendingPairing !== null) {
      return;
    }
    let pairingKey;
    try {
      pairingKey = await derivePairingKey(code, this.hub);
    } catch (error) {
      this.view.showPairError(error.message);
      return;
    }
    const keyPair = await generateBrowserKeyPair();
    const publicPoint = await exportPublicPoint(keyPair.publicKey);
    const browser = randomHex(16);
    this.pendingPairing = { browser, keyPair, publicPoint, pairingKey, startedMs: this.now() };
    this.pendingKeys = null;
    this.mqtt.subscribe([this.topics.welcome(browser), this.topics.keys(browser)]);
    const hello = await buildHello({
      pairingKey,
      hub: this.hub,
      browser,
      name: this.browserName,
      publicPoint,
    });
    if (!this.mqtt.publish(this.topics.hello(browser), JSON.stringify(hello))) {
      this.pendingPairing = null;
      this.view.showPairError("Not connected to the remote-access service; try again in a moment.");
      return;
    }
    this.view.showPairWaiting();
  }

  /** Forget this browser's pairing with the hub (the hub's page can remove it there too). */
  async forget() {
    await this.store.remove(this.hub);
    this.#dropKeys();
    this.pairing = null;
    this.wrapKey = null;
    this.view.showPairForm(null);
  }

  async command(entityId, control, value) {
    if (this.household === null || this.pairing === null) {
      this.view.showReply(entityId, `${control.label}: not sent, this browser has no key`);
      return;
    }
    if (this.commands.size >= MAX_PENDING_COMMANDS) {
      this.view.showReply(entityId, `${control.label}: not sent, too many waiting for an answer`);
      return;
    }
    const id = globalThis.crypto.randomUUID();
    const data = control.field ? { [control.field]: value } : {};
    const message = { type: "command", id, entity_id: entityId, service: control.service, data };
    const topic = this.topics.cmd(this.pairing.browser);
    const payload = await sealEnvelope({
      key: this.household.key,
      kid: this.household.kid,
      sender: this.pairing.browser,
      topic,
      ctr: this.counter.next(this.now() * 1000),
      message,
    });
    if (!this.mqtt.publish(topic, payload)) {
      this.view.showReply(entityId, `${control.label}: not sent, not connected`);
      return;
    }
    this.commands.set(id, { entityId, label: control.label, sentMs: this.now() });
    this.view.showReply(entityId, `${control.label}: sent, waiting for the home`);
  }

  /** Called every few seconds: offline, pairing and reply time-outs, a key gone missing. */
  tick() {
    const now = this.now();
    if (this.pendingPairing !== null && now - this.pendingPairing.startedMs > PAIRING_TIMEOUT_MS) {
      this.pendingPairing = null;
      this.view.showPairError(
        "The hub did not answer. Check the code (good for 10 minutes) and that the hub is on."
      );
    }
    for (const [id, command] of this.commands) {
      if (now - command.sentMs > REPLY_TIMEOUT_MS) {
        this.commands.delete(id);
        this.view.showReply(command.entityId, `${command.label}: no answer from the home`);
      }
    }
    if (this.pairing === null) {
      return;
    }
    if (
      this.household === null &&
      this.heldHubMessages.length > 0 &&
      this.connectedAtMs !== null &&
      now - this.connectedAtMs > KEYS_GRACE_MS
    ) {
      this.#keyChanged();
      return;
    }
    // Silence counts from the home's last message, or from when this page could first hear it.
    const heard = this.lastHeardMs ?? this.connectedAtMs;
    if (heard === null) {
      return;
    }
    const offline = now - heard > OFFLINE_AFTER_MS;
    if (offline !== this.offline) {
      this.offline = offline;
      this.view.showOffline(offline, this.lastSentAt);
    }
  }

  async #usePairing(pairing) {
    this.pairing = pairing;
    this.wrapKey = await deriveWrapKey({
      privateKey: pairing.privateKey,
      hubPoint: pairing.hubPoint,
      hub: this.hub,
      browser: pairing.browser,
    });
    this.mqtt.subscribe([
      this.topics.keys(pairing.browser),
      ...this.topics.stateParts,
      this.topics.event,
      this.topics.reply(pairing.browser),
    ]);
  }

  async #receive(topic, payload, retain) {
    const pending = this.pendingPairing;
    if (pending !== null && topic === this.topics.welcome(pending.browser)) {
      await this.#welcome(pending, payload);
      return;
    }
    if (pending !== null && topic === this.topics.keys(pending.browser)) {
      this.pendingKeys = payload; // the welcome may still be on its way
      return;
    }
    if (this.pairing === null) {
      return;
    }
    const browser = this.pairing.browser;
    if (topic === this.topics.keys(browser)) {
      await this.#keys(payload);
    } else if (this.topics.stateParts.includes(topic) || topic === this.topics.event) {
      if (payload.length > 0) {
        await this.#hubMessage(topic, payload, retain); // empty: a cleared part, nothing to show
      }
    } else if (topic === this.topics.reply(browser)) {
      await this.#reply(topic, payload);
    }
  }

  async #welcome(pending, payload) {
    let verified;
    try {
      verified = await verifyWelcome({
        pairingKey: pending.pairingKey,
        hub: this.hub,
        browser: pending.browser,
        browserPoint: pending.publicPoint,
        welcome: payload,
      });
    } catch (error) {
      this.pendingPairing = null;
      this.view.showPairError(`Pairing stopped: ${error.message}.`);
      return;
    }
    this.pendingPairing = null;
    const pairing = {
      hub: this.hub,
      browser: pending.browser,
      privateKey: pending.keyPair.privateKey,
      publicPoint: pending.publicPoint,
      hubPoint: verified.hubPoint,
      check: verified.check,
      pairedAt: new Date(this.now()).toISOString(),
    };
    await this.store.put(pairing);
    await this.#usePairing(pairing);
    this.view.showPaired(verified.check);
    if (this.pendingKeys !== null) {
      const keys = this.pendingKeys;
      this.pendingKeys = null;
      await this.#keys(keys);
    }
  }

  async #keys(payload) {
    if (payload.length === 0) {
      this.#keyChanged(); // the hub cleared this browser's key: removed, or rotated without it
      return;
    }
    let household;
    try {
      household = await unwrapHouseholdKey({
        wrapKey: this.wrapKey,
        hub: this.hub,
        browser: this.pairing.browser,
        keysMessage: payload,
      });
    } catch (error) {
      console.warn("ethos remote: keys message refused:", error.reason ?? error.message);
      return;
    }
    this.household = household;
    if (this.opener === null) {
      this.opener = new EnvelopeOpener(household.kid, household.key);
    } else {
      // A rotated key: counters carry over, so nothing old can be replayed under the new kid.
      this.opener.kid = household.kid;
      this.opener.key = household.key;
    }
    const held = this.heldHubMessages;
    this.heldHubMessages = [];
    for (const [topic, heldPayload, retain] of held) {
      await this.#hubMessage(topic, heldPayload, retain);
    }
  }

  #keyChanged() {
    this.#dropKeys();
    this.pairing = null;
    this.wrapKey = null;
    this.store.remove(this.hub).catch(() => {});
    this.view.showPairForm("key_changed");
  }

  #dropKeys() {
    this.household = null;
    this.opener = null;
    this.snapshots = new SnapshotAssembler();
    this.heldHubMessages = [];
    this.commands.clear();
  }

  async #open(topic, payload) {
    try {
      return await this.opener.open(topic, payload, { expectSender: HUB_SENDER });
    } catch (error) {
      // Refused messages are never shown: they may be forgeries or replays by the broker.
      console.warn(`ethos remote: refused a message on ${topic}:`, error.reason ?? error.message);
      return null;
    }
  }

  async #hubMessage(topic, payload, retain) {
    if (this.opener === null) {
      // The keys message may come after the retained snapshot: hold the latest few.
      this.heldHubMessages = this.heldHubMessages
        .slice(-(MAX_HELD_HUB_MESSAGES - 1))
        .concat([[topic, payload, retain]]);
      return;
    }
    const opened = await this.#open(topic, payload);
    if (opened === null) {
      return;
    }
    const message = opened.message;
    const sent = sentAtMs(message);
    const now = this.now();
    // A retained snapshot may be old: the home was last heard when it was sent.
    this.lastHeardMs = retain && sent !== null ? Math.min(now, sent) : now;
    this.lastSentAt = typeof message.sent_at === "string" ? message.sent_at : this.lastSentAt;
    const part = this.topics.stateParts.indexOf(topic);
    if (part >= 0 && message.type === "snapshot") {
      let whole = null;
      try {
        whole = this.snapshots.add(part, message);
      } catch (error) {
        console.warn(`ethos remote: refused a snapshot part on ${topic}:`, error.message);
      }
      if (whole !== null) {
        const entities = whole.entities.filter(isEntity);
        this.view.showSnapshot(String(whole.hub_name ?? this.name), entities);
      }
    } else if (topic === this.topics.event && message.type === "state" && isEntity(message.entity)) {
      this.view.showEntity(message.entity);
    }
    this.tick();
  }

  async #reply(topic, payload) {
    if (this.opener === null) {
      return;
    }
    const opened = await this.#open(topic, payload);
    if (opened === null || opened.message.type !== "reply") {
      return;
    }
    const { id, ok, error } = opened.message;
    const command = this.commands.get(id);
    if (command === undefined) {
      return;
    }
    this.commands.delete(id);
    const outcome = ok === true ? "done" : `refused: ${String(error ?? "no reason given")}`;
    this.view.showReply(command.entityId, `${command.label}: ${outcome}`);
  }
}

function isEntity(entity) {
  return (
    entity !== null &&
    typeof entity === "object" &&
    typeof entity.entity_id === "string" &&
    entity.entity_id.length > 0
  );
}
