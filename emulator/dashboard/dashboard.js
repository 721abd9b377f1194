"use strict";
// The dashboard reads only the control plane: health, state, requests and faults.
// It renders any vendor's state generically: each top-level list is a set of tenants,
// and each list of objects inside a tenant (devices, channels, ...) becomes a table.
(function () {
  const base = "/_emulator";
  let activeVendor = null;
  let lastState = {};

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }

  function show(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  async function getJSON(path) {
    const response = await fetch(base + path, { cache: "no-store" });
    if (!response.ok) throw new Error(path + " answered " + response.status);
    return response.json();
  }

  function matches(value, needle) {
    return !needle || JSON.stringify(value).toLowerCase().includes(needle);
  }

  function objectTable(rows, needle) {
    const shown = rows.filter((row) => matches(row, needle));
    if (!shown.length) return el("div", { class: "empty", text: rows.length ? "no match" : "none" });
    const columns = [];
    for (const row of shown) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
    const head = el("tr", {}, columns.map((c) => el("th", { text: c })));
    const body = shown.map((row) => el("tr", { "data-row": "" }, columns.map((c) => el("td", { text: show(row[c]) }))));
    return el("table", { class: "grid" }, [el("thead", {}, [head]), el("tbody", {}, body)]);
  }

  function tenantCard(kind, tenant, needle) {
    const scalars = [];
    const nested = [];
    for (const [key, value] of Object.entries(tenant)) {
      if (Array.isArray(value) && value.some((v) => v && typeof v === "object")) nested.push([key, value]);
      else scalars.push([key, value]);
    }
    const title = scalars.length ? show(scalars[0][1]) : kind;
    const fields = el("div", { class: "fields" });
    scalars.forEach(([key, value], i) => {
      fields.appendChild(el("b", { text: key + ": " }));
      fields.appendChild(document.createTextNode(show(value) + (i < scalars.length - 1 ? "  ·  " : "")));
    });
    const card = el("div", { class: "tenant" }, [el("h3", { text: kind + " " + title }), fields]);
    for (const [key, rows] of nested) {
      card.appendChild(el("h4", { text: key + " (" + rows.length + ")" }));
      card.appendChild(objectTable(rows, needle));
    }
    return card;
  }

  function renderState() {
    const needle = document.getElementById("search").value.trim().toLowerCase();
    const vendors = Object.keys(lastState);
    if (!activeVendor || !vendors.includes(activeVendor)) activeVendor = vendors[0] || null;
    const tabs = document.getElementById("tabs");
    tabs.replaceChildren(...vendors.map((name) => {
      const lists = Object.values(lastState[name] || {}).filter(Array.isArray);
      const count = lists.reduce((n, list) => n + list.length, 0);
      const button = el("button", { type: "button", "data-vendor": name }, [
        document.createTextNode(name), el("span", { class: "count", text: "(" + count + ")" })]);
      if (name === activeVendor) button.className = "active";
      button.addEventListener("click", () => { activeVendor = name; renderState(); });
      return button;
    }));
    const target = document.getElementById("state");
    const part = activeVendor ? lastState[activeVendor] || {} : {};
    const cards = [];
    for (const [kind, tenants] of Object.entries(part)) {
      if (!Array.isArray(tenants)) continue;
      for (const tenant of tenants) {
        if (tenant && typeof tenant === "object" && matches(tenant, needle)) cards.push(tenantCard(kind, tenant, needle));
      }
    }
    target.replaceChildren(...(cards.length ? cards : [el("div", { class: "empty", text: "nothing here" })]));
  }

  function renderRequests(entries) {
    const rows = entries.map((e) => el("tr", {}, [
      el("td", { text: e.time }), el("td", { text: show(e.vendor) }), el("td", { text: e.method }),
      el("td", { text: e.path + (e.query ? "?" + e.query : "") }),
      el("td", { class: "status-" + String(e.status || "")[0], text: e.status === null ? "dropped" : String(e.status) }),
      el("td", { text: String(e.duration_ms) }), el("td", { text: show(e.fault) }),
    ]));
    document.querySelector("#requests tbody").replaceChildren(
      ...(rows.length ? rows : [el("tr", {}, [el("td", { class: "empty", colspan: "7", text: "no requests yet" })])]));
  }

  function renderFaults(rules) {
    const rows = rules.map((r) => el("tr", {}, [
      el("td", { text: String(r.id) }), el("td", { text: show(r.vendor) }), el("td", { text: show(r.method) }),
      el("td", { text: show(r.path) }),
      el("td", { text: r.drop ? "drop" : (r.status ? "status " + r.status : "") + (r.latency_ms ? " +" + r.latency_ms + " ms" : "") }),
      el("td", { text: String(r.fired) }), el("td", { text: r.remaining === null ? "∞" : String(r.remaining) }),
      el("td", { text: String(r.probability) }),
    ]));
    document.querySelector("#faults tbody").replaceChildren(
      ...(rows.length ? rows : [el("tr", {}, [el("td", { class: "empty", colspan: "8", text: "no fault rules" })])]));
  }

  async function refresh() {
    try {
      const [health, state, journal, faults] = await Promise.all([
        getJSON("/health"), getJSON("/state"), getJSON("/requests?limit=50"), getJSON("/faults")]);
      document.getElementById("meta").textContent =
        "v" + health.version + " · db " + health.db + " · auth " + health.auth + " · " + health.vendors.length + " vendors";
      lastState = state;
      renderState();
      renderRequests(journal.requests);
      renderFaults(faults.faults);
      document.body.dataset.loaded = "true";
    } catch (err) {
      document.getElementById("meta").textContent = "cannot reach the emulator: " + err.message;
    }
  }

  document.getElementById("search").addEventListener("input", renderState);
  refresh();
  setInterval(() => { if (document.getElementById("auto").checked) refresh(); }, 2000);
})();
