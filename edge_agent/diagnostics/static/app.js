// The diagnostics page. Everything from the cabinet is inserted as text (textContent), never as HTML.
"use strict";
(function () {
  const init = JSON.parse(document.getElementById("init").textContent);
  const W = init.words;
  const main = document.getElementById("main");
  const RANK = { fault: 0, offline: 1, degraded: 2, unknown: 3, ok: 4 };

  function t(key, vars) {
    let text = W[key] || key;
    for (const [name, value] of Object.entries(vars || {})) text = text.replace("{" + name + "}", value);
    return text;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // --- formatting -------------------------------------------------------------------------------
  function when(iso) {
    if (!iso) return "–";
    const date = new Date(iso);
    return date.toLocaleString(init.lang, { hour12: false });
  }
  function duration(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
    const m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    return m ? m + "m " + s + "s" : s + "s";
  }
  function ago(iso) {
    return iso ? t("ago", { x: duration((Date.now() - new Date(iso)) / 1000) }) : "–";
  }
  function value(v, unit) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "boolean") return v ? t("yes") : t("no");
    if (typeof v === "number" && unit === "B") return bytes(v);
    if (typeof v === "number" && unit === "s" && v > 120) return duration(v);
    if (typeof v === "number") v = Number.isInteger(v) ? v : Math.round(v * 100) / 100;
    return unit ? v + " " + unit : String(v);
  }
  function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  }
  function label(name) {
    return W["v." + name] || name;
  }
  function stateBadge(state) {
    return el("span", { class: "badge state-" + state, text: t("state." + state) });
  }
  function causeText(cause) {
    return cause ? t("cause." + cause) : "";
  }

  // --- live updates -----------------------------------------------------------------------------
  function live(handlers) {
    const banner = document.getElementById("conn");
    const source = new EventSource("/api/events");
    for (const [name, handler] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
    }
    source.addEventListener("open", () => { banner.hidden = true; });
    source.addEventListener("error", () => {
      banner.textContent = t("stale");
      banner.hidden = false;
      if (source.readyState === EventSource.CLOSED) {
        // 401: the session ended. Anything else: try again shortly.
        fetch("/api/status").then((r) => (r.status === 401 ? location.assign("/login") : setTimeout(() => live(handlers), 3000)));
      }
    });
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": init.csrf },
      body: JSON.stringify(body || {}),
    });
    let data;
    try { data = await response.json(); } catch (e) { data = { error: response.statusText }; }
    if (!response.ok) return { status: "error", error: { code: String(response.status), message: data.error || "" } };
    return data;
  }

  // --- actions ----------------------------------------------------------------------------------
  function describe(data) {
    if (data === null || typeof data !== "object") return data === null || data === undefined ? "" : String(data);
    return Object.entries(data).map(([k, v]) => k + ": " + (v && typeof v === "object" ? describe(v) : v)).join(", ");
  }
  function actionButton(action, deviceOf, extraOf) {
    const label = t("action." + action.key);
    const result = el("output", { class: "result", "aria-live": "polite" });
    const disabled = !action.available || init.role !== "technician";
    const note = !action.available ? t("action.disabled") : init.role !== "technician" ? t("action.viewer") : "";
    const button = el("button", {
      class: "action", type: "button", "data-action": action.key, disabled: disabled,
      onclick: async () => {
        if (!window.confirm(t("confirm", { a: label }))) return;
        button.disabled = true;
        result.className = "result running";
        result.textContent = t("running");
        const body = Object.assign({}, extraOf ? extraOf() : {});
        const device = deviceOf ? deviceOf() : null;
        if (device) body.device_id = device;
        const reply = await post("/api/action/" + action.key, body);
        const ok = reply.status === "ok";
        result.className = "result " + (ok ? "ok" : "error");
        const detail = ok ? describe(reply.data) : (reply.error && (reply.error.message || reply.error.code)) || "";
        result.textContent = t(ok ? "result.ok" : "result.error") + " · " + new Date().toLocaleTimeString(init.lang, { hour12: false }) + " · " + detail;
        button.disabled = false;
      },
    }, label);
    return el("div", { class: "action-row" }, button, note ? el("span", { class: "note", text: note }) : null, result);
  }

  // --- overview ---------------------------------------------------------------------------------
  function overview() {
    const devices = new Map(init.devices.map((d) => [d.device_id, d]));
    const agentBox = el("section", { class: "panel", id: "agent" });
    const cabinetBox = el("div", { class: "cabinet-tiles", id: "cabinet" });
    const faultBox = el("section", { class: "panel faults", id: "faults" });
    const grid = el("section", { class: "grid", id: "devices", "aria-label": t("devices") });
    main.append(faultBox, el("div", { class: "top" }, agentBox, cabinetBox), el("h2", { text: t("devices") }), grid);

    function drawAgent(agent) {
      agentBox.replaceChildren(
        el("h2", { text: t("cabinet") + " " + agent.cabinet_id }),
        el("dl", {},
          el("dt", { text: t("site") }), el("dd", { text: agent.site || "–" }),
          el("dt", { text: t("version") }), el("dd", { text: agent.version }),
          el("dt", { text: t("uptime") }), el("dd", { text: duration(agent.uptime_s) }),
          el("dt", { text: t("broker") }),
          el("dd", { class: agent.broker_connected ? "good" : "bad", id: "broker", text: agent.broker_connected ? t("connected") : t("disconnected") }),
          el("dt", { text: t("last_publish") }), el("dd", { id: "last-publish", text: agent.last_publish ? when(agent.last_publish) + " (" + ago(agent.last_publish) + ")" : "–" }),
          el("dt", { text: t("published") }), el("dd", { text: String(agent.published_total) }),
          el("dt", { text: t("outbox") }), el("dd", { id: "outbox", text: String(agent.outbox.depth) })));
    }
    function drawCabinet(groups) {
      cabinetBox.replaceChildren(...["power", "environment", "uplink"].map((group) => {
        const rows = groups[group] || [];
        return el("section", { class: "panel small", "data-group": group }, el("h3", { text: t(group) }),
          rows.length ? el("dl", {}, rows.map((r) => [el("dt", { text: label(r.name), title: r.name }), el("dd", { text: value(r.value, r.unit) })]))
            : el("p", { class: "na", text: t("not_available") }));
      }));
    }
    function tile(d) {
      const faults = d.faults.length ? d.faults[0].message : "";
      return el("a", { class: "tile state-" + d.state, href: "/device/" + encodeURIComponent(d.device_id), "data-device-id": d.device_id },
        el("div", { class: "tile-head" }, el("span", { class: "name", text: d.name }), stateBadge(d.state)),
        el("div", { class: "reason", text: d.reason || faults || "" }),
        el("div", { class: "meta", text: [causeText(d.cause), d.kind, t("since") + " " + when(d.since)].filter(Boolean).join(" · ") }));
    }
    function drawDevices() {
      const list = [...devices.values()].sort((a, b) => (RANK[a.state] - RANK[b.state]) || (a.since < b.since ? 1 : -1));
      grid.replaceChildren(...list.map(tile));
      // Offline devices head the list too: for the technician they are the first thing wrong.
      const faults = list.flatMap((d) => d.faults.map((f) => Object.assign({ device: d }, f)).concat(
        d.state === "offline" ? [{ device: d, severity: "critical", message: t("state.offline") + ": " + (d.reason || causeText(d.cause)), since: d.since }] : []));
      faults.sort((a, b) => (a.since < b.since ? 1 : -1));
      faultBox.replaceChildren(el("h2", { text: t("faults") + " (" + faults.length + ")" }),
        faults.length ? el("ul", {}, faults.slice(0, 20).map((f) => el("li", { class: "sev-" + f.severity },
          el("a", { href: "/device/" + encodeURIComponent(f.device.device_id), text: f.device.name }),
          " — ", el("span", { text: f.message }), el("span", { class: "meta", text: " · " + when(f.since) }))))
          : el("p", { class: "good", text: t("no_faults") }));
    }
    drawAgent(init.agent);
    drawCabinet(init.cabinet);
    drawDevices();
    live({
      agent: drawAgent,
      cabinet: drawCabinet,
      device: (d) => { devices.set(d.device_id, d); drawDevices(); },
    });
  }

  // --- device detail ----------------------------------------------------------------------------
  function sparkline(points) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 120 28");
    svg.setAttribute("class", "spark");
    if (!points || points.length < 2) return svg;
    const vs = points.map((p) => p[1]), ts = points.map((p) => p[0]);
    const lo = Math.min(...vs), hi = Math.max(...vs), t0 = ts[0], span = ts[ts.length - 1] - t0 || 1;
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map((p) => ((p[0] - t0) / span * 118 + 1).toFixed(1) + "," +
      (hi === lo ? 14 : 26 - (p[1] - lo) / (hi - lo) * 24).toFixed(1)).join(" "));
    svg.append(line);
    return svg;
  }

  function device() {
    let d = init.device, history = init.history;
    const head = el("section", { class: "panel", id: "device-head" });
    const faults = el("section", { class: "panel" });
    const readings = el("section", { class: "panel" });
    const raw = el("section", { class: "panel raw" });
    const acts = el("section", { class: "panel", id: "device-actions" });
    main.append(el("p", {}, el("a", { href: "/", text: "← " + t("back") })), head, acts, faults, readings, raw);

    function draw() {
      head.className = "panel head state-" + d.state;
      head.replaceChildren(
        el("h1", {}, el("span", { text: d.name }), " ", stateBadge(d.state)),
        el("p", { class: "reason", text: d.reason || "" }),
        el("p", { class: "meta", text: [causeText(d.cause), d.kind, d.device_id, t("since") + " " + when(d.since),
          t("last_poll") + " " + ago(d.last_poll), t("polls") + " " + d.polls_ok + "/" + d.polls_failed].filter(Boolean).join(" · ") }));
      const offline = d.state === "offline" ? el("li", { class: "sev-critical" }, el("b", { text: t("state.offline") }), " ",
        el("span", { text: d.reason || causeText(d.cause) }), el("span", { class: "meta", text: " · " + when(d.since) })) : null;
      faults.replaceChildren(el("h2", { text: t("faults") }), d.faults.length || offline
        ? el("ul", {}, offline, d.faults.map((f) => el("li", { class: "sev-" + f.severity }, el("b", { text: f.code }), " ",
          el("span", { text: f.message }), el("span", { class: "meta", text: " · " + when(f.since) }))))
        : el("p", { class: "good", text: t("no_faults") }));
      const names = Object.keys(d.values).sort();
      readings.replaceChildren(el("h2", { text: t("readings") }), el("table", { class: "readings" }, el("tbody", {}, names.map((name) =>
        el("tr", {}, el("th", { text: label(name), title: name }), el("td", { class: "num", text: value(d.values[name], d.units[name]) }),
          el("td", {}, sparkline(history[name])))))));
      const open = Boolean(raw.querySelector("details[open]"));  // live redraws keep it open
      raw.replaceChildren(el("details", { open }, el("summary", { text: t("raw") }),
        el("pre", { text: JSON.stringify(d.diagnostics, null, 2) })));
    }
    const perDevice = init.actions.filter((a) => a.per_device);
    acts.append(el("h2", { text: t("actions") }), ...perDevice.map((a) => actionButton(a, () => d.device_id)));
    if (!perDevice.length) acts.hidden = true;
    draw();
    let pending = false;
    async function refresh() {
      const response = await fetch("/api/device/" + encodeURIComponent(d.device_id));
      if (response.ok) { const body = await response.json(); d = body.device; history = body.history; draw(); }
      pending = false;
    }
    live({
      device: (update) => {
        if (update.device_id !== d.device_id) return;
        Object.assign(d, update);
        draw();
        if (!pending) { pending = true; setTimeout(refresh, 300); }
      },
    });
  }

  // --- reports ----------------------------------------------------------------------------------
  async function reports() {
    const daily = el("section", { class: "panel" }, el("h2", { text: t("reports.daily") }));
    if (init.days === null) daily.append(el("p", { class: "na", text: t("not_available") }));
    else daily.append(el("ul", {}, init.days.map((day) => el("li", {}, day, " ",
      el("a", { href: "/reports/daily/" + day + ".csv", download: "", text: "CSV" }), " ",
      el("a", { href: "/reports/daily/" + day + ".json", download: "", text: "JSON" })))));
    const snap = el("section", { class: "panel" }, el("h2", { text: t("reports.snapshot") }),
      el("p", { class: "no-print" },
        el("a", { class: "button", id: "snapshot-csv", href: "/reports/snapshot.csv", download: "", text: t("download") + " CSV" }), " ",
        el("a", { class: "button", href: "/reports/snapshot.json", download: "", text: t("download") + " JSON" }), " ",
        el("button", { type: "button", onclick: () => window.print(), text: t("reports.print") })));
    main.append(daily, snap);
    const status = await (await fetch("/api/status")).json();
    snap.append(el("p", { class: "meta", text: t("cabinet") + " " + status.agent.cabinet_id + " · " + when(new Date().toISOString()) }),
      el("table", {}, el("thead", {}, el("tr", {}, [t("device"), t("state"), t("cause"), t("reason"), t("since")].map((h) => el("th", { text: h })))),
        el("tbody", {}, status.devices.map((d) => el("tr", {}, el("td", { text: d.name }), el("td", {}, stateBadge(d.state)),
          el("td", { text: causeText(d.cause) }), el("td", { text: d.reason }), el("td", { text: when(d.since) }))))));
  }

  // --- actions page -----------------------------------------------------------------------------
  function actions() {
    const cabinet = el("section", { class: "panel" }, el("h2", { text: t("cabinet_actions") }));
    const minutes = el("input", { type: "number", min: "1", max: "1440", value: "60", id: "mw-minutes" });
    const reason = el("input", { type: "text", maxlength: "200", id: "mw-reason" });
    for (const a of init.actions.filter((x) => !x.per_device)) {
      if (a.key === "maintenance_window") {
        minutes.disabled = reason.disabled = !a.available || init.role !== "technician";
        cabinet.append(el("div", { class: "form-row" }, el("label", {}, t("minutes"), minutes), el("label", {}, t("mw.reason"), reason)),
          actionButton(a, null, () => ({ duration_min: Number(minutes.value), reason: reason.value || null })));
      } else cabinet.append(actionButton(a));
    }
    const select = el("select", { id: "action-device" }, init.devices.map((d) => el("option", { value: d.device_id, text: d.name + " (" + d.kind + ")" })));
    const perDevice = el("section", { class: "panel" }, el("h2", { text: t("device_actions") }),
      el("label", {}, t("choose_device") + " ", select),
      init.actions.filter((x) => x.per_device).map((a) => actionButton(a, () => select.value)));
    main.append(cabinet, perDevice);
  }

  // --- logs -------------------------------------------------------------------------------------
  function logs() {
    const filter = el("input", { type: "search", placeholder: t("logs.filter"), id: "log-filter" });
    const level = el("select", { id: "log-level" }, ["", "DEBUG", "INFO", "WARNING", "ERROR"].map((l) => el("option", { value: l, text: l || t("logs.all") })));
    const agentBox = el("section", { class: "panel" });
    const auditBox = el("section", { class: "panel" });
    main.append(el("div", { class: "form-row no-print" }, filter, level), auditBox, agentBox);
    let data = { agent: [], audit: [] };
    const match = (row) => !filter.value || JSON.stringify(row).toLowerCase().includes(filter.value.toLowerCase());
    function table(rows, columns) {
      if (!rows.length) return el("p", { class: "na", text: t("logs.empty") });
      return el("table", { class: "log" }, el("tbody", {}, rows.slice(-300).reverse().map((r) =>
        el("tr", { class: "lvl-" + (r.level || r.result || "") }, columns.map((c) => el("td", { text: c(r) }))))));
    }
    function draw() {
      const agentRows = data.agent.filter((r) => (!level.value || r.level === level.value) && match(r));
      agentBox.replaceChildren(el("h2", { text: t("logs.agent") }), table(agentRows, [(r) => when(r.ts), (r) => r.level, (r) => r.logger, (r) => r.message]));
      auditBox.replaceChildren(el("h2", { text: t("logs.audit") }), table(data.audit.filter(match),
        [(r) => when(r.ts), (r) => r.operator, (r) => r.module, (r) => r.target || "", (r) => JSON.stringify(r.params), (r) => r.result, (r) => r.source]));
    }
    async function load() {
      const response = await fetch("/api/logs");
      if (response.status === 401) return location.assign("/login");
      if (response.ok) { data = await response.json(); draw(); }
    }
    filter.addEventListener("input", draw);
    level.addEventListener("change", draw);
    load();
    setInterval(load, 5000);
  }

  function missing() {
    main.append(el("section", { class: "panel" }, el("h1", { text: t("device.missing") }), el("p", { text: init.device_id }),
      el("a", { href: "/", text: "← " + t("back") })));
  }

  // Day/night: follows the phone's dark mode until the technician picks one (kept in this browser).
  function theme() {
    const root = document.documentElement, button = document.getElementById("theme");
    const apply = (mode) => {
      root.classList.toggle("night", mode === "night");
      root.classList.toggle("day", mode === "day");
      const dark = mode === "night" || (!mode && matchMedia("(prefers-color-scheme: dark)").matches);
      button.textContent = dark ? t("theme.day") : t("theme.night");
    };
    let mode = null;
    try { mode = localStorage.getItem("edge-theme"); } catch (e) { /* storage off: follow the phone */ }
    apply(mode);
    button.hidden = false;
    button.addEventListener("click", () => {
      mode = button.textContent === t("theme.night") ? "night" : "day";
      try { localStorage.setItem("edge-theme", mode); } catch (e) { /* not kept, still applied */ }
      apply(mode);
    });
  }
  theme();
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === init.page) link.setAttribute("aria-current", "page");
  }
  ({ overview, device, reports, actions, logs, missing })[init.page]();
})();
