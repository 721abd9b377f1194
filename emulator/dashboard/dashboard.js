"use strict";
// The dashboard reads and acts only through the control plane. It never asks for the whole
// state: tenants and devices come a page at a time (/tenants, /devices), so a database of
// 100,000 devices neither stalls the vendors' requests nor the page.
(function () {
  const base = "/_emulator";
  const PAGE = 50;
  const view = { vendor: null, tenant: null, offset: 0, total: 0, device: null, requests: [] };
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (k === "onclick") node.addEventListener("click", v);
      else node.setAttribute(k, v);
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }

  function show(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function pretty(text) {
    if (text === null || text === undefined || text === "") return "(none)";
    if (typeof text !== "string") return JSON.stringify(text, null, 2);
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (err) { return text; }
  }

  async function call(method, path, body) {
    const init = { method, cache: "no-store", headers: {} };
    if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
    const response = await fetch(base + path, init);
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new Error(path + " answered " + response.status + (data && data.error ? ": " + data.error : ""));
    return data;
  }

  function emptyRow(columns, text) {
    return el("tr", {}, [el("td", { class: "empty", colspan: String(columns), text })]);
  }

  function query(params) {
    const parts = Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined)
      .map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v));
    return parts.length ? "?" + parts.join("&") : "";
  }

  // -- tenants and devices --------------------------------------------------------------------
  async function loadTabs(vendors) {
    $("tabs").replaceChildren(...vendors.map((name) => el("button", {
      type: "button", "data-vendor": name, class: name === view.vendor ? "active" : "",
      onclick: () => selectVendor(name), text: name,
    })));
    const filter = $("f-vendor");
    if (filter.options.length === 1) vendors.forEach((name) => filter.appendChild(el("option", { value: name, text: name })));
  }

  async function selectVendor(name) {
    view.vendor = name;
    view.offset = 0;
    document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.vendor === name));
    const answer = await call("GET", "/tenants" + query({ vendor: name }));
    const select = $("tenant");
    select.replaceChildren(...answer.tenants.map((t) => el("option", {
      value: t.id, text: t.id + " (" + t.devices + " " + answer.label + ")" })));
    view.tenant = answer.tenants.length ? answer.tenants[0].id : null;
    await loadDevices();
  }

  async function loadDevices() {
    const head = document.querySelector("#devices thead");
    const body = document.querySelector("#devices tbody");
    if (!view.tenant) {
      head.replaceChildren();
      body.replaceChildren(emptyRow(1, "no tenants"));
      $("page-info").textContent = "";
      return;
    }
    const page = await call("GET", "/devices" + query({
      vendor: view.vendor, tenant: view.tenant, search: $("search").value.trim(), offset: view.offset, limit: PAGE }));
    view.total = page.total;
    const columns = page.devices.length ? Object.keys(page.devices[0]) : [];
    head.replaceChildren(el("tr", {}, columns.map((c) => el("th", { text: c }))));
    body.replaceChildren(...(page.devices.length ? page.devices.map((row) => el("tr", { "data-row": "" },
      columns.map((c, i) => i === 0
        ? el("td", { class: "id" }, [el("a", { href: "#", "data-device": show(row[c]), text: show(row[c]),
            onclick: (event) => { event.preventDefault(); openDevice(row); } })])
        : el("td", { text: show(row[c]) })))) : [emptyRow(1, page.total ? "past the last page" : "none")]));
    const last = Math.min(page.offset + page.devices.length, page.total);
    $("page-info").textContent = page.total ? (page.offset + 1) + "–" + last + " of " + page.total : "0 of 0";
    $("prev").disabled = page.offset === 0;
    $("next").disabled = last >= page.total;
  }

  async function openDevice(row) {
    const id = show(Object.values(row)[0]);
    view.device = { vendor: view.vendor, tenant: view.tenant, id, row };
    $("device-panel").hidden = false;
    $("device-title").textContent = view.vendor + " device " + id;
    $("device-record").textContent = JSON.stringify(row, null, 2);
    await loadDevicePanel();
    $("device-panel").scrollIntoView();
  }

  async function loadDevicePanel() {
    const device = view.device;
    if (!device) return;
    const deliveries = document.querySelector("#device-deliveries tbody");
    try {
      const answer = await call("GET", "/deliveries" + query({ vendor: device.vendor, tenant: device.tenant,
                                                               device_id: device.id, limit: 100 }));
      deliveries.replaceChildren(...(answer.deliveries.length ? answer.deliveries.map((d) => el("tr", {}, [
        el("td", { class: "id", text: d.time }), el("td", { class: "id", text: show(d.publish_id) }),
        el("td", { class: "status-" + (d.status === "delivered" ? "2" : "4"), text: d.status }),
        el("td", { text: show(d.reason) }), el("td", { text: show(d.matched_by) }), el("td", { text: show(d.payload) }),
      ])) : [emptyRow(6, "no deliveries")]));
    } catch (err) {
      deliveries.replaceChildren(emptyRow(6, err.message));
    }
    const journal = await call("GET", "/requests" + query({ vendor: device.vendor, path: "*" + device.id + "*", limit: 50 }));
    document.querySelector("#device-requests tbody").replaceChildren(...(journal.requests.length
      ? journal.requests.map((e) => el("tr", {}, [el("td", { class: "id", text: e.time }), el("td", { text: e.method }),
        el("td", { class: "id", text: e.path }), el("td", { class: "status-" + String(e.status || "")[0], text: show(e.status) })]))
      : [emptyRow(4, "none in the journal")]));
  }

  // -- requests ---------------------------------------------------------------------------------
  async function loadRequests() {
    const journal = await call("GET", "/requests" + query({
      vendor: $("f-vendor").value, method: $("f-method").value, status: $("f-status").value,
      path: $("f-path").value.trim(), limit: 50 }));
    view.requests = journal.requests;
    const rows = journal.requests.map((e, i) => el("tr", { "data-request": String(e.id), onclick: () => openRequest(i) }, [
      el("td", { class: "id", text: e.time }), el("td", { class: "id", text: show(e.vendor) }), el("td", { text: e.method }),
      el("td", { class: "id", text: e.path + (e.query ? "?" + e.query : "") }),
      el("td", { class: "status-" + String(e.status || "")[0], text: e.status === null ? "dropped" : String(e.status) }),
      el("td", { text: String(e.duration_ms) }), el("td", { text: show(e.fault) }),
    ]));
    document.querySelector("#requests tbody").replaceChildren(...(rows.length ? rows : [emptyRow(7, "no requests")]));
  }

  function openRequest(index) {
    const entry = view.requests[index];
    $("request-panel").hidden = false;
    $("request-title").textContent = entry.method + " " + entry.path + " → " + show(entry.status);
    $("request-headers").textContent = JSON.stringify(entry.request_headers, null, 2);
    $("request-body").textContent = pretty(entry.request_body);
    $("response-body").textContent = pretty(entry.response_body);
  }

  // -- faults, options, clock -------------------------------------------------------------------
  async function loadFaults() {
    const answer = await call("GET", "/faults");
    const rows = answer.faults.map((r) => el("tr", { "data-fault": String(r.id) }, [
      el("td", { text: String(r.id) }), el("td", { text: show(r.vendor) }), el("td", { text: show(r.method) }),
      el("td", { class: "id", text: show(r.path) }),
      el("td", { text: r.drop ? "drop" : (r.status ? "status " + r.status : "") + (r.latency_ms ? " +" + r.latency_ms + " ms" : "") }),
      el("td", { text: String(r.fired) }), el("td", { text: r.remaining === null ? "∞" : String(r.remaining) }),
      el("td", { text: String(r.probability) }),
      el("td", {}, [el("button", { type: "button", class: "danger", text: "delete",
        onclick: () => act(() => call("DELETE", "/faults/" + r.id)) })]),
    ]));
    document.querySelector("#faults tbody").replaceChildren(...(rows.length ? rows : [emptyRow(9, "no fault rules")]));
  }

  function optionInput(vendor, name, spec, value) {
    const change = (raw) => act(() => call("PATCH", "/options", vendor === null ? { [name]: raw } : { [vendor]: { [name]: raw } }));
    const id = "opt-" + (vendor || "core") + "-" + name;
    if (spec.choices || spec.type === "bool") {
      const choices = spec.choices || ["true", "false"];
      const select = el("select", { id }, choices.map((c) => el("option", { value: c, text: c })));
      select.value = String(value);
      select.addEventListener("change", () => change(spec.type === "bool" ? select.value === "true" : select.value));
      return select;
    }
    const input = el("input", { id, type: spec.type === "int" ? "number" : "text", value: String(value) });
    input.addEventListener("change", () => change(spec.type === "int" ? Number(input.value) : input.value));
    return input;
  }

  async function loadOptions() {
    const answer = await call("GET", "/options");
    const rows = [];
    for (const [vendor, specs] of Object.entries(answer.options)) {
      if (vendor === "auth") {
        rows.push(el("tr", {}, [el("td", { text: "(all)" }), el("td", { text: "auth" }),
          el("td", {}, [optionInput(null, "auth", specs, answer.values.auth)]), el("td", { text: specs.default }),
          el("td", { text: specs.help })]));
        continue;
      }
      for (const [name, spec] of Object.entries(specs)) {
        rows.push(el("tr", {}, [el("td", { class: "id", text: vendor }), el("td", { class: "id", text: name }),
          el("td", {}, [optionInput(vendor, name, spec, answer.values[vendor][name])]),
          el("td", { text: show(spec.default) }), el("td", { text: spec.help })]));
      }
    }
    document.querySelector("#options tbody").replaceChildren(...rows);
  }

  async function loadMeta() {
    const [health, clock] = await Promise.all([call("GET", "/health"), call("GET", "/clock")]);
    $("meta").textContent = "v" + health.version + " · db " + health.db + " · auth " + health.auth;
    $("clock").textContent = "clock " + clock.iso + (clock.frozen ? " (frozen)" : "");
    return health;
  }

  async function act(fn) {
    try {
      await fn();
      await refresh(true);
    } catch (err) {
      $("meta").textContent = err.message;
    }
  }

  async function refresh(all) {
    try {
      await loadMeta();
      await Promise.all([loadRequests(), loadFaults(), loadDevices(), loadDevicePanel(), all ? loadOptions() : null]);
      document.body.dataset.loaded = "true";
    } catch (err) {
      $("meta").textContent = "cannot reach the emulator: " + err.message;
    }
  }

  async function start() {
    try {
      const health = await loadMeta();
      await loadTabs(health.vendors);
      await selectVendor(health.vendors[0]);
    } catch (err) {
      $("meta").textContent = "cannot reach the emulator: " + err.message;
    }
    await refresh(true);
  }

  let searchTimer = null;
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { view.offset = 0; loadDevices(); }, 200);
  });
  $("tenant").addEventListener("change", () => { view.tenant = $("tenant").value; view.offset = 0; loadDevices(); });
  $("prev").addEventListener("click", () => { view.offset = Math.max(0, view.offset - PAGE); loadDevices(); });
  $("next").addEventListener("click", () => { view.offset += PAGE; loadDevices(); });
  for (const id of ["f-vendor", "f-method", "f-status", "f-path"]) $(id).addEventListener("change", loadRequests);
  $("f-path").addEventListener("input", loadRequests);
  $("device-close").addEventListener("click", () => { view.device = null; $("device-panel").hidden = true; });
  $("request-close").addEventListener("click", () => { $("request-panel").hidden = true; });
  $("reset").addEventListener("click", () => act(async () => {
    await call("POST", "/reset");
    view.device = null;
    $("device-panel").hidden = true;
    await selectVendor(view.vendor);
  }));
  $("clear-requests").addEventListener("click", () => act(() => call("DELETE", "/requests")));
  $("advance").addEventListener("click", () => act(() => call("POST", "/clock", { advance: Number($("advance-seconds").value) })));
  start();
  setInterval(() => { if ($("auto").checked) refresh(false); }, 2000);
})();
