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
  // Today: the time only (shorter on a phone); another day: date and time.
  function when(iso) {
    if (!iso) return "–";
    const date = new Date(iso);
    if (date.toDateString() === new Date().toDateString()) return date.toLocaleTimeString(init.lang, { hour12: false });
    return date.toLocaleString(init.lang, { hour12: false });
  }
  // A column heading: the word, capitalised where the language has capitals.
  function col(key) { const word = t(key); return word.charAt(0).toUpperCase() + word.slice(1); }
  function kindText(kind) { return W["kind." + kind] || kind; }
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
  // A reading's words: the page's vocabulary, else its name made readable (unit suffix off).
  const UNIT_SUFFIX = /_(v|a|w|wh|kw|kwh|kvar|kvarh|kva|kvah|va|var|varh|hz|percent|c|ms|s|min|h|bytes|gb|kmh)$/;
  function label(name) {
    if (W["v." + name]) return W["v." + name];
    const words = name.replace(UNIT_SUFFIX, "").split("_").map((w) => (/^l[123]$/.test(w) ? w.toUpperCase() : w));
    if (init.lang !== "zh-CN") return words.join(" ");
    // Chinese: word by word where the page knows the word (功率因数 L1), else the name as written.
    const known = words.map((w) => W["w." + w] || (/^L[123]$/.test(w) ? " " + w : null));
    return known.every(Boolean) ? known.join("").trim() : words.join(" ");
  }
  // A fault code in the catalogue's words (the chosen language); unknown codes say so plainly.
  function entry(key) { return (key && init.catalogue[key]) || null; }
  function faultTitle(f) {
    const e = entry(f.key);
    if (e) return e.title.replace("{subject}", label(f.subject || ""));
    return init.lang === "en" ? (f.message || f.code) : t("fault_code", { c: f.code });
  }
  function faultLine(f, key) {
    const e = entry(f.key);
    return e ? e[key].replace(/\{subject\}/g, label(f.subject || "")) : "";
  }
  // Why a device is in its state, in words for the technician (never a raw exception in Chinese).
  function reasonOf(d) {
    if (d.reason_code) return faultTitle(d.reason_code);
    if (!d.reason) return "";
    if (init.lang === "en") return d.reason;
    return d.state === "offline" ? t("state.offline") + " · " + causeText(d.cause) : "";
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
  function deviceName(id) {
    const found = (init.devices || []).find((d) => d.device_id === id);
    return found ? found.name : (init.device && init.device.device_id === id ? init.device.name : id);
  }
  // Self-test: one row per device with its state and why, worst first.
  async function selfTestTable(box) {
    const status = await (await fetch("/api/status")).json();
    const bad = status.devices.filter((d) => d.state !== "ok").length;
    box.replaceChildren(el("p", { class: bad ? "bad" : "good", text: t("selftest.summary", { n: status.devices.length, bad }) }),
      stackTable("selftest", [col("device"), col("state"), col("reason")], status.devices.map((d) => [
        el("a", { href: "/device/" + encodeURIComponent(d.device_id), text: d.name }), stateBadge(d.state), reasonOf(d)])));
  }
  // A table that becomes one card per row on a phone (CSS), each cell labelled by its header.
  function stackTable(cls, headers, rows) {
    return el("table", { class: "stack " + cls },
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { text: h })))),
      el("tbody", {}, rows.map((cells) => el("tr", cells.attrs || {}, cells.map((c, i) =>
        el("td", { "data-label": headers[i] }, c))))));
  }
  function actionButton(action, deviceOf, extraOf) {
    const label = t("action." + action.key);
    const result = el("output", { class: "result", "aria-live": "polite" });
    const disabled = !action.available || init.role !== "technician";
    const note = !action.available ? t("action.disabled") : init.role !== "technician" ? t("action.viewer") : "";
    const button = el("button", {
      class: "action", type: "button", "data-action": action.key, disabled: disabled,
      onclick: async () => {
        const extra = extraOf ? extraOf() : {};
        if (extra === null) return;  // the form said what is missing
        const device = deviceOf ? deviceOf() : null;
        const question = device ? t("confirm.device", { a: label, d: deviceName(device) }) : t("confirm", { a: label });
        if (!window.confirm(question)) return;
        button.disabled = true;
        result.className = "result running";
        result.textContent = t("running");
        const body = Object.assign({}, extra);
        if (device) body.device_id = device;
        const reply = await post("/api/action/" + action.key, body);
        const ok = reply.status === "ok";
        result.className = "result " + (ok ? "ok" : "error");
        const stamp = t(ok ? "result.ok" : "result.error") + " · " + new Date().toLocaleTimeString(init.lang, { hour12: false });
        if (ok && action.key === "self_test") { result.textContent = stamp; await selfTestTable(table); }
        else {
          const error = reply.error || {};
          // In words of the chosen language by its code; the raw message only in English.
          const failed = W["err." + error.code] || (init.lang === "en" ? error.message || error.code : error.code) || "";
          const detail = ok ? (init.lang === "en" ? describe(reply.data) : "") : failed;
          result.textContent = [stamp, detail].filter(Boolean).join(" · ");
        }
        if (ok && action.key.startsWith("maintenance_")) refreshMaintenance();
        button.disabled = false;
      },
    }, label);
    const table = action.key === "self_test" ? el("div", { class: "selftest-box" }) : null;
    return el("div", { class: "action-row", "data-row": action.key }, button, note ? el("span", { class: "note", text: note }) : null, result, table);
  }

  // --- maintenance banner (every page) ----------------------------------------------------------
  let windows = init.maintenance || [];
  function drawMaintenance() {
    const box = document.getElementById("maint");
    const now = Date.now();
    windows = windows.filter((w) => new Date(w.end) > now);
    box.hidden = !windows.length;
    if (!windows.length) { box.replaceChildren(); return; }
    const w = windows[0];
    const left = (new Date(w.end) - now) / 1000;
    const end = el("button", { type: "button", id: "maint-end", hidden: init.role !== "technician", onclick: async () => {
      if (!window.confirm(t("confirm", { a: t("action.maintenance_end") }))) return;
      const reply = await post("/api/action/maintenance_end", {});
      if (reply.status === "ok") { windows = []; drawMaintenance(); refreshMaintenance(); }
    } }, t("action.maintenance_end"));
    box.replaceChildren(el("span", { class: "maint-text" },
      el("b", { text: t("mw.active") }), " · ", el("span", { id: "maint-left", text: t("mw.left", { x: duration(left) }) }),
      " · " + t("mw.until", { t: new Date(w.end).toLocaleTimeString(init.lang, { hour12: false }) }),
      " · " + (w.devices ? w.devices.map(deviceName).join(", ") : t("mw.whole")),
      w.reason ? " · " + w.reason : ""), end);
  }
  async function refreshMaintenance() {
    const response = await fetch("/api/status");
    if (response.ok) { windows = (await response.json()).agent.maintenance || []; drawMaintenance(); }
  }
  drawMaintenance();
  setInterval(drawMaintenance, 1000);

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
      const faults = d.faults.length ? faultTitle(d.faults[0]) : "";
      return el("a", { class: "tile state-" + d.state, href: "/device/" + encodeURIComponent(d.device_id), "data-device-id": d.device_id },
        el("div", { class: "tile-head" }, el("span", { class: "name", text: d.name }), stateBadge(d.state)),
        el("div", { class: "reason", text: reasonOf(d) || faults || "" }),
        el("div", { class: "meta", text: [causeText(d.cause), kindText(d.kind), t("since") + " " + when(d.since)].filter(Boolean).join(" · ") }));
    }
    function drawDevices() {
      const list = [...devices.values()].sort((a, b) => (RANK[a.state] - RANK[b.state]) || (a.since < b.since ? 1 : -1));
      grid.replaceChildren(...list.map(tile));
      // Offline devices head the list too: for the technician they are the first thing wrong.
      const faults = list.flatMap((d) => d.faults.map((f) => Object.assign({ device: d }, f)).concat(
        d.state === "offline" ? [{ device: d, severity: "critical", offline: true, since: d.since }] : []));
      faults.sort((a, b) => (a.since < b.since ? 1 : -1));
      faultBox.replaceChildren(el("h2", { text: t("faults") + " (" + faults.length + ")" }),
        faults.length ? el("ul", {}, faults.slice(0, 20).map((f) => el("li", { class: "sev-" + f.severity },
          el("a", { href: "/device/" + encodeURIComponent(f.device.device_id), text: f.device.name }),
          " — ", el("span", { text: f.offline ? t("state.offline") + ": " + (reasonOf(f.device) || causeText(f.device.cause)) : faultTitle(f) }),
          el("span", { class: "meta", text: " · " + when(f.since) }))))
          : el("p", { class: "good", text: t("no_faults") }));
    }
    drawAgent(init.agent);
    drawCabinet(init.cabinet);
    drawDevices();
    live({
      agent: (agent) => { drawAgent(agent); windows = agent.maintenance || []; drawMaintenance(); },
      cabinet: drawCabinet,
      device: (d) => { devices.set(d.device_id, d); drawDevices(); },
    });
  }

  // --- device detail ----------------------------------------------------------------------------
  // A trend: the line, its scale (max, min with unit) and its time axis (first and last point).
  function trend(points, unit) {
    if (!points || points.length < 2) return null;
    if (points.every((p) => p[1] === points[0][1])) return null;  // a flat line says nothing the value does not
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 300 60");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("class", "trend-line");
    const vs = points.map((p) => p[1]), ts = points.map((p) => p[0]);
    const lo = Math.min(...vs), hi = Math.max(...vs), t0 = ts[0], span = ts[ts.length - 1] - t0 || 1;
    if (value(hi, unit) === value(lo, unit)) return null;  // moves less than the value shows
    for (const y of [1, 30, 59]) {
      const grid = document.createElementNS(ns, "line");
      grid.setAttribute("x1", "0"); grid.setAttribute("x2", "300"); grid.setAttribute("y1", y); grid.setAttribute("y2", y);
      grid.setAttribute("class", "grid-line");
      svg.append(grid);
    }
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map((p) => ((p[0] - t0) / span * 298 + 1).toFixed(1) + "," +
      (hi === lo ? 30 : 57 - (p[1] - lo) / (hi - lo) * 54).toFixed(1)).join(" "));
    svg.append(line);
    const clock = (s) => new Date(s * 1000).toLocaleTimeString(init.lang, { hour12: false, hour: "2-digit", minute: "2-digit" });
    return el("figure", { class: "trend" },
      el("div", { class: "scale" }, el("span", { text: value(hi, unit) }), el("span", { text: value(lo, unit) })),
      svg,
      el("figcaption", { class: "axis" }, el("span", { text: clock(t0) }), el("span", { text: t("trend.span", { x: duration(span) }) }),
        el("span", { text: clock(ts[ts.length - 1]) })));
  }

  function device() {
    let d = init.device, history = init.history;
    const head = el("section", { class: "panel", id: "device-head" });
    const faults = el("section", { class: "panel" });
    const readings = el("section", { class: "panel" });
    const rawText = el("pre");
    const raw = el("section", { class: "panel raw" }, el("details", {}, el("summary", { text: t("raw") }), rawText));
    const acts = el("section", { class: "panel", id: "device-actions" });
    main.append(el("p", {}, el("a", { href: "/", text: "← " + t("back") })), head, faults, acts, readings, raw);

    function draw() {
      head.className = "panel head state-" + d.state;
      head.replaceChildren(
        el("h1", {}, el("span", { text: d.name }), " ", stateBadge(d.state)),
        el("p", { class: "reason", text: reasonOf(d) }),
        el("p", { class: "meta", text: [causeText(d.cause), kindText(d.kind), d.device_id, t("since") + " " + when(d.since),
          t("last_poll") + " " + ago(d.last_poll), t("polls") + " " + d.polls_ok + "/" + d.polls_failed].filter(Boolean).join(" · ") }));
      const shown = d.faults.slice();
      if (d.state === "offline") shown.unshift(Object.assign({ severity: "critical", since: d.since, offline: true }, d.reason_code || { code: "offline" }));
      faults.replaceChildren(el("h2", { text: t("faults") }), shown.length
        ? el("ul", { class: "fault-list" }, shown.map((f) => el("li", { class: "fault sev-" + f.severity, "data-code": f.code },
          el("div", { class: "fault-title" }, el("b", { text: (f.offline ? t("state.offline") + " · " : "") + faultTitle(f) }),
            el("span", { class: "meta", text: " · " + when(f.since) })),
          faultLine(f, "explain") ? el("p", { class: "explain", text: faultLine(f, "explain") }) : null,
          faultLine(f, "check") ? el("p", { class: "check" }, el("b", { text: t("check") + (init.lang === "en" ? ": " : "：") }), faultLine(f, "check")) : null)))
        : el("p", { class: "good", text: t("no_faults") }));
      const names = d.order || Object.keys(d.values);
      readings.replaceChildren(el("h2", { text: t("readings") }), el("div", { class: "readings" }, names.map((name) =>
        el("div", { class: "reading", "data-name": name },
          el("span", { class: "rname", text: (d.labels && d.labels[name] && d.labels[name][init.lang]) || label(name), title: name }),
          el("span", { class: typeof d.values[name] === "string" && d.values[name].length > 14 ? "num long" : "num", text: value(d.values[name], d.units[name]) }),
          trend(history[name], d.units[name])))));
      // Only the text changes: the expert's open view (and a click on it) survives live redraws.
      const messages = d.faults.map((f) => f.code + ": " + f.message).concat(d.reason ? [d.reason] : []);
      rawText.textContent = messages.join("\n") + "\n\n" + JSON.stringify(d.diagnostics, null, 2);
    }
    const perDevice = init.actions.filter((a) => a.per_device);
    acts.append(el("h2", { text: t("actions") }), el("div", { class: "action-list" }, perDevice.map((a) => actionButton(a, () => d.device_id))));
    if (!perDevice.length) acts.append(el("p", { class: "na", text: t("action.none") }));
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
    else if (!init.days.length) daily.append(el("p", { class: "na", text: t("logs.empty") }));
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
      stackTable("status", [col("device"), col("state"), col("cause"), col("reason"), col("since")], status.devices.map((d) =>
        [d.name, stateBadge(d.state), causeText(d.cause), reasonOf(d), when(d.since)])));
  }

  // --- actions page -----------------------------------------------------------------------------
  function actions() {
    const cabinet = el("section", { class: "panel" }, el("h2", { text: t("cabinet_actions") }));
    const minutes = el("input", { type: "number", min: "1", max: "1440", value: "60", id: "mw-minutes" });
    const reason = el("input", { type: "text", maxlength: "200", id: "mw-reason", required: true });
    const missing = el("p", { class: "bad", id: "mw-missing", hidden: true, text: t("mw.reason_needed") });
    const maintenanceArgs = () => {
      missing.hidden = Boolean(reason.value.trim());
      if (!missing.hidden) { reason.focus(); return null; }
      return { duration_min: Number(minutes.value), reason: reason.value.trim() };
    };
    for (const a of init.actions.filter((x) => !x.per_device)) {
      if (a.key === "maintenance_start") {
        minutes.disabled = reason.disabled = !a.available || init.role !== "technician";
        cabinet.append(el("div", { class: "form-row" }, el("label", {}, t("minutes"), minutes), el("label", { class: "wide" }, t("mw.reason"), reason)),
          missing, actionButton(a, null, maintenanceArgs));
      } else if (a.key !== "maintenance_end") cabinet.append(actionButton(a));  // ended from the banner
    }
    const select = el("select", { id: "action-device" }, init.devices.map((d) => el("option", { value: d.device_id, text: d.name })));
    const buttons = el("div", { id: "device-action-buttons" });
    // Which actions fit a device is the server's call (kind, and a relay for a power-cycle).
    const applies = (a, device) => Boolean(device) && device.actions.includes(a.key);
    function drawDeviceActions() {
      const device = init.devices.find((d) => d.device_id === select.value);
      const fitting = init.actions.filter((x) => x.per_device && applies(x, device));
      buttons.replaceChildren(fitting.length ? el("div", { class: "action-list" }, fitting.map((a) => actionButton(a, () => select.value)))
        : el("p", { class: "na", text: t("action.none") }));
    }
    select.addEventListener("change", drawDeviceActions);
    // Start on the first device something can be done for (the controller has no device actions).
    const first = init.devices.find((d) => init.actions.some((x) => x.per_device && applies(x, d)));
    if (first) select.value = first.device_id;
    drawDeviceActions();
    const perDevice = el("section", { class: "panel" }, el("h2", { text: t("device_actions") }),
      el("label", { class: "wide" }, t("choose_device"), select), buttons);
    main.append(cabinet, perDevice);
  }

  // --- logs -------------------------------------------------------------------------------------
  function logs() {
    const filter = el("input", { type: "search", placeholder: t("logs.filter"), id: "log-filter" });
    const level = el("select", { id: "log-level" }, ["", "DEBUG", "INFO", "WARNING", "ERROR"].map((l) => el("option", { value: l, text: l || t("logs.all") })));
    const agentBox = el("section", { class: "panel", id: "logs-agent" });
    const auditBox = el("section", { class: "panel", id: "logs-audit" });
    main.append(el("div", { class: "form-row no-print" }, filter, level), auditBox, agentBox);
    let data = { agent: [], audit: [] };
    const match = (row) => !filter.value || JSON.stringify(row).toLowerCase().includes(filter.value.toLowerCase());
    function table(rows, headers, columns) {
      if (!rows.length) return el("p", { class: "na", text: t("logs.empty") });
      return stackTable("log", headers, rows.slice(-300).reverse().map((r) =>
        Object.assign(columns.map((c) => c(r)), { attrs: { class: "lvl-" + (r.level || r.result || "") } })));
    }
    function draw() {
      const agentRows = data.agent.filter((r) => (!level.value || r.level === level.value) && match(r));
      agentBox.replaceChildren(el("h2", { text: t("logs.agent") }), table(agentRows, [col("time"), col("logs.level"), col("logger"), col("message")],
        [(r) => when(r.ts), (r) => r.level, (r) => r.logger, (r) => r.message]));
      auditBox.replaceChildren(el("h2", { text: t("logs.audit") }), table(data.audit.filter(match),
        [col("time"), col("operator"), col("action"), col("target"), col("params"), col("result"), col("source")],
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

  // --- alarm history --------------------------------------------------------------------------
  function alarms() {
    let rows = init.alarms;
    const text = el("input", { type: "search", placeholder: t("logs.filter"), id: "alarm-filter" });
    const device = el("select", { id: "alarm-device" });
    const active = el("input", { type: "checkbox", id: "alarm-active" });
    const box = el("section", { class: "panel", id: "alarms" });
    main.append(el("div", { class: "form-row no-print" }, text, device, el("label", { class: "check-label" }, active, t("alarms.active_only"))),
      box);
    function options() {
      const chosen = device.value;
      const names = new Map(rows.map((r) => [r.device_id, r.name]));
      device.replaceChildren(el("option", { value: "", text: t("alarms.all_devices") }),
        ...[...names].map(([id, name]) => el("option", { value: id, text: name, selected: id === chosen })));
    }
    function ack(r) {
      if (r.acked_by) return el("span", { class: "meta", text: t("alarms.acked", { u: r.acked_by, t: when(r.acked_at) }) });
      if (init.role !== "technician") return "";
      return el("button", { type: "button", class: "ack", "data-alarm": r.id, onclick: async () => {
        const reply = await post("/api/alarms/" + r.id + "/ack", {});
        if (reply.alarm) { Object.assign(r, reply.alarm); draw(); }
      } }, t("alarms.ack"));
    }
    function draw() {
      const needle = text.value.toLowerCase();
      const shown = rows.filter((r) => (!device.value || r.device_id === device.value) && (!active.checked || !r.cleared) &&
        (!needle || (r.name + " " + r.code + " " + faultTitle(r)).toLowerCase().includes(needle)));
      const headers = [col("alarms.raised"), col("device"), col("alarm"), col("cause"), col("alarms.cleared"), col("alarms.acked_col")];
      box.replaceChildren(el("h2", { text: t("alarms") }), el("p", { class: "meta", text: t("alarms.note") }),
        shown.length ? stackTable("alarms", headers, shown.map((r) => Object.assign([
          when(r.raised), el("a", { href: "/device/" + encodeURIComponent(r.device_id), text: r.name }),
          el("span", { class: "sev-" + r.severity, text: (r.code === "offline" ? t("state.offline") + " · " : "") + faultTitle(r) }),
          causeText(r.cause) || "–",
          r.cleared ? when(r.cleared) + " (" + t("alarms.lasted") + " " + duration((new Date(r.cleared) - new Date(r.raised)) / 1000) + ")" : el("b", { class: "bad", text: t("alarms.active") }),
          ack(r)], { attrs: { "data-alarm-row": r.id, class: r.cleared ? "cleared" : "open" } })))
          : el("p", { class: "na", text: t("logs.empty") }));
    }
    async function load() {
      const response = await fetch("/api/alarms");
      if (response.status === 401) return location.assign("/login");
      if (response.ok) { rows = (await response.json()).alarms; options(); draw(); }
    }
    for (const input of [text, device, active]) input.addEventListener(input === text ? "input" : "change", draw);
    options();
    draw();
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
  ({ overview, device, reports, actions, logs, alarms, missing })[init.page]();
})();
