// "My home" (/home): the homes that let this account in, live through the remote-access
// broker. One MQTT connection serves every home; each home is a HomeLink (link.js) with its
// view (view.js). The page's <main id="remote-home"> carries the token URL and CSRF token.

import { randomHex } from "./encoding.js";
import { PairingStore } from "./keystore.js";
import { HomeLink, browserSummary } from "./link.js";
import { MqttClient } from "./mqtt.js";
import { BrokerTokens } from "./tokens.js";
import { HomeView, connectionLine } from "./view.js";

const TICK_MS = 5 * 1000;
const HUB_ID = /^[0-9a-f]{32}$/;

async function startHome(root) {
  const container =
    root.querySelector("[data-remote-live]") ??
    root.appendChild(Object.assign(document.createElement("div"), { className: "remote-live" }));
  const connection = connectionLine(container);
  const tokens = new BrokerTokens(root.dataset.tokenUrl, root.dataset.csrf);
  let answer;
  try {
    answer = await tokens.fetchAnswer();
  } catch (error) {
    connection.say(`Your home cannot be reached from here: ${error.message}.`);
    return;
  }
  const homes = answer.homes.filter((home) => HUB_ID.test(home.hub));
  if (homes.length === 0 || !answer.token) {
    connection.say("No hub lets this account in yet.");
    return;
  }
  for (const list of root.querySelectorAll("[data-remote-homes]")) {
    list.hidden = true; // the server-side list; the live views below replace it
  }
  const store = await new PairingStore().open();
  const links = new Map();
  const client = new MqttClient({
    credentials: (options) => tokens.credentials(options),
    clientId: `web-${randomHex(16)}`,
    onMessage: (topic, payload, retain) => {
      const hub = topic.split("/")[1];
      links.get(hub)?.receive(topic, payload, retain);
    },
    onStatus: (state, detail) => {
      connection.show(state, detail);
      for (const link of links.values()) {
        if (state === "connected") {
          link.connected();
        } else {
          link.disconnected();
        }
      }
    },
    onSubscribeRefused: (topic) => {
      connection.say(`The remote-access service refused to show ${topic}.`);
    },
  });
  const name = browserSummary(navigator.userAgent);
  for (const home of homes) {
    const actions = {
      pair: (code) => link.pair(code),
      forget: () => link.forget(),
      command: (entityId, control, value) => link.command(entityId, control, value),
    };
    const view = new HomeView(container, home, actions);
    const link = new HomeLink({ ...home, store, mqtt: client, view, browserName: name });
    links.set(home.hub, link);
    await link.start();
  }
  if (!store.persistent) {
    connection.say("This browser keeps no storage for this site: pairings last for this visit.");
  }
  client.start();
  setInterval(() => {
    for (const link of links.values()) {
      link.tick();
    }
  }, TICK_MS);
}

const root = document.getElementById("remote-home");
if (root !== null && root.dataset.configured !== "false" && root.dataset.tokenUrl) {
  startHome(root);
}
