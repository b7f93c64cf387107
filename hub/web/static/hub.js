// Live updates (Server-Sent Events) and commands without page reloads.
// Everything works without this script too: forms post and the page reloads.
"use strict";

(function () {
  const csrf = document.body.dataset.csrf;
  const status = document.getElementById("live-status");

  function applyState(item) {
    const text = item.state === null ? "removed" : item.state;
    document.querySelectorAll("[data-state-of]").forEach(function (el) {
      if (el.dataset.stateOf !== item.entity_id) return;
      el.textContent = text;
      // Only the state-<value> class changes; others (occupancy-state…) stay.
      el.className = el.className.split(" ").filter(function (name) {
        return name.indexOf("state-") !== 0;
      }).concat("state-" + text).join(" ");
    });
    document.querySelectorAll("[data-meter-of]").forEach(function (el) {
      if (el.dataset.meterOf === item.entity_id && !isNaN(parseFloat(text))) el.value = text;
    });
  }

  if (csrf && window.EventSource) {
    const source = new EventSource("/api/stream");
    source.addEventListener("state", function (event) {
      applyState(JSON.parse(event.data));
    });
    source.addEventListener("open", function () { if (status) status.hidden = true; });
    source.addEventListener("error", function () { if (status) status.hidden = false; });
  }

  function showProblem(form, message) {
    let box = form.querySelector(".problem");
    if (!box) {
      box = document.createElement("span");
      box.className = "problem";
      box.setAttribute("role", "alert");
      form.appendChild(box);
    }
    box.textContent = message;
  }

  document.querySelectorAll("form.cmd").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const data = new FormData(form);
      const body = { service: data.get("service") };
      if (data.has("value")) body.value = data.get("value");
      fetch("/api/entities/" + encodeURIComponent(form.dataset.entity) + "/command", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
        credentials: "same-origin",
      }).then(function (response) {
        return response.json().then(function (payload) {
          if (!response.ok) showProblem(form, payload.error || "Command failed");
          else showProblem(form, "");
        });
      }).catch(function () { showProblem(form, "The hub did not answer"); });
    });
  });
})();

// Installable web app: the service worker keeps the shell for when the hub is out of reach.
if ("serviceWorker" in navigator) {
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  });
}
