// The DOM of one home on /home: pairing form, check digits, the shared devices with their
// state, unit, room and controls, replies, and the home's status. Text only ever goes in
// through textContent and attributes (the hub's names are data, never markup); state changes
// and replies are read out through a polite live region.

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (name === "text") {
      node.textContent = value;
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function displayTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

function stateText(entity) {
  const unit = entity.attributes?.unit_of_measurement;
  const state = entity.state === null || entity.state === undefined ? "unknown" : entity.state;
  return unit ? `${state} ${unit}` : String(state);
}

function sortKey(entity) {
  return `${entity.room ?? "\uffff"}\u0000${entity.name ?? entity.entity_id}`;
}

let sequence = 0;
function uniqueId(prefix) {
  sequence += 1;
  return `${prefix}-${sequence}`;
}

export class HomeView {
  constructor(container, home, actions) {
    this.actions = actions;
    this.entities = new Map();
    const titleId = uniqueId("remote-home-title");
    this.title = el("h2", { id: titleId, text: home.name || "Home" });
    this.status = el("p", { class: "remote-status", role: "status" });
    this.pairSection = el("div", { class: "remote-pair", hidden: true });
    this.paired = el("div", { class: "remote-paired", hidden: true });
    this.list = el("ul", { class: "remote-entities", "aria-label": "Shared devices" });
    this.announcer = el("p", { class: "visually-hidden", "aria-live": "polite" });
    this.section = el(
      "section",
      { class: "card remote-home", "aria-labelledby": titleId, "data-hub": home.hub },
      this.title,
      this.status,
      this.pairSection,
      this.paired,
      this.list,
      this.announcer
    );
    container.append(this.section);
  }

  announce(text) {
    this.announcer.textContent = text;
  }

  #setStatus(text, kind) {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  showWaiting() {
    this.pairSection.hidden = true;
    this.#setStatus("Waiting for your home…", "waiting");
  }

  showPairForm(reason) {
    this.entities.clear();
    this.list.replaceChildren();
    this.paired.hidden = true;
    if (reason === "key_changed") {
      this.#setStatus("Key changed: pair again.", "key-changed");
      this.announce("Key changed: pair this browser again.");
    } else {
      this.#setStatus("This browser is not paired with this home yet.", "unpaired");
    }
    const inputId = uniqueId("remote-pair-code");
    const input = el("input", {
      id: inputId,
      name: "code",
      type: "text",
      autocomplete: "off",
      autocapitalize: "characters",
      spellcheck: "false",
      maxlength: 13,
      placeholder: "XXXXX-XXXXX",
      required: true,
      "aria-describedby": `${inputId}-help`,
    });
    this.pairError = el("p", { class: "error", role: "alert" });
    const form = el(
      "form",
      { class: "remote-pair-form" },
      el("p", {
        id: `${inputId}-help`,
        text: "At home, open your hub's Remote page and ask for a pairing code; type it here.",
      }),
      el("label", { for: inputId, text: "Pairing code" }),
      input,
      el("button", { type: "submit", text: "Pair this browser" }),
      this.pairError
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.pairError.textContent = "";
      this.actions.pair(input.value);
    });
    this.pairSection.replaceChildren(form);
    this.pairSection.hidden = false;
  }

  showPairWaiting() {
    this.#setStatus("Code sent; waiting for your hub to answer…", "pairing");
  }

  showPairError(text) {
    this.#setStatus("This browser is not paired with this home yet.", "unpaired");
    if (this.pairError) {
      this.pairError.textContent = text;
    }
  }

  showPaired(check) {
    this.pairSection.hidden = true;
    this.#setStatus("Paired. Waiting for your home…", "waiting");
    const forget = el("button", { type: "button", class: "link", text: "Forget this pairing" });
    forget.addEventListener("click", () => this.actions.forget());
    this.paired.replaceChildren(
      el(
        "p",
        {},
        "Check digits: ",
        el("strong", { class: "remote-check", text: check }),
        ". Your hub's page shows the same digits; if not, forget this pairing. "
      ),
      forget
    );
    this.paired.hidden = false;
    this.announce(`Paired. Check digits ${check.split("").join(" ")}.`);
  }

  showOffline(offline, sentAt) {
    if (offline) {
      const text = sentAt ? `Home offline since ${displayTime(sentAt)}` : "Home offline";
      this.#setStatus(text, "offline");
      this.announce(text);
    } else {
      this.#setStatus("Home online.", "online");
    }
  }

  showSnapshot(hubName, entities) {
    this.title.textContent = hubName;
    const seen = new Set();
    for (const entity of [...entities].sort((a, b) => sortKey(a).localeCompare(sortKey(b)))) {
      seen.add(entity.entity_id);
      this.#render(entity, false);
    }
    for (const [entityId, row] of this.entities) {
      if (!seen.has(entityId)) {
        row.item.remove();
        this.entities.delete(entityId);
      }
    }
    // Keep the list in the snapshot's order.
    for (const entityId of [...seen]) {
      this.list.append(this.entities.get(entityId).item);
    }
    if (this.status.dataset.kind !== "offline") {
      this.#setStatus("Home online.", "online");
    }
  }

  showEntity(entity) {
    this.#render(entity, true);
  }

  showReply(entityId, text) {
    const row = this.entities.get(entityId);
    if (row) {
      row.reply.textContent = text;
    }
    this.announce(text);
  }

  #render(entity, announce) {
    let row = this.entities.get(entity.entity_id);
    if (row === undefined) {
      row = this.#newRow(entity);
      this.entities.set(entity.entity_id, row);
      this.list.append(row.item);
    }
    const name = String(entity.name ?? entity.entity_id);
    row.name.textContent = name;
    const where = [entity.room, entity.device].filter((part) => part).join(" · ");
    row.where.textContent = where;
    const text = stateText(entity);
    const changed = row.state.textContent !== text;
    row.state.textContent = text;
    const signature = JSON.stringify(entity.controls ?? []);
    if (signature !== row.signature) {
      row.signature = signature;
      row.controls.replaceChildren(...this.#controls(entity));
    }
    for (const input of row.controls.querySelectorAll("[data-follows-state]")) {
      if (document.activeElement !== input) {
        input.value = entity.state ?? "";
      }
    }
    if (announce && changed) {
      this.announce(`${name}: ${text}`);
    }
  }

  #newRow(entity) {
    const name = el("span", { class: "remote-entity-name" });
    const where = el("span", { class: "remote-entity-where" });
    const state = el("span", { class: "remote-entity-state" });
    const controls = el("div", { class: "remote-controls" });
    const reply = el("p", { class: "remote-reply" });
    const item = el(
      "li",
      { class: "remote-entity", "data-entity-id": entity.entity_id },
      el("div", { class: "remote-entity-head" }, name, where),
      state,
      controls,
      reply
    );
    return { item, name, where, state, controls, reply, signature: null };
  }

  #controls(entity) {
    const controls = Array.isArray(entity.controls) ? entity.controls : [];
    return controls
      .filter((control) => control && typeof control.service === "string")
      .map((control) => this.#control(entity, control));
  }

  #control(entity, control) {
    const label = String(control.label ?? control.service);
    const send = (value) => this.actions.command(entity.entity_id, { ...control, label }, value);
    if (!control.field) {
      const button = el("button", { type: "button", text: label });
      button.addEventListener("click", () => send(undefined));
      return button;
    }
    const inputId = uniqueId("remote-control");
    let input;
    if (Array.isArray(control.options)) {
      input = el(
        "select",
        { id: inputId, name: control.field, "data-follows-state": true },
        ...control.options.map((option) => el("option", { value: option, text: option }))
      );
    } else {
      input = el("input", {
        id: inputId,
        name: control.field,
        type: "number",
        inputmode: "decimal",
        min: control.min,
        max: control.max,
        step: control.step ?? "any",
        required: true,
        "data-follows-state": true,
      });
    }
    input.value = entity.state ?? "";
    const form = el(
      "form",
      { class: "remote-control" },
      el("label", { for: inputId, text: label }),
      input,
      el("button", { type: "submit", text: "Set" })
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!form.reportValidity()) {
        return;
      }
      send(input.type === "number" ? Number(input.value) : input.value);
    });
    return form;
  }
}

/** The page-wide line about the connection to the remote-access service. */
export function connectionLine(container) {
  const line = el("p", { class: "remote-connection", role: "status" });
  container.prepend(line);
  return {
    show(state, detail) {
      const texts = {
        connecting: "Connecting to the remote-access service…",
        connected: "",
        refused: `The remote-access service refused this browser: ${detail}. Trying again…`,
        disconnected: `Not connected to the remote-access service (${detail}). Trying again…`,
        stopped: "",
      };
      line.textContent = texts[state] ?? "";
      line.dataset.state = state;
    },
    say(text) {
      line.textContent = text;
    },
  };
}
