// Refreshes the fleet table every 2 s from /api/fleet; builds rows with textContent only.
"use strict";
(function () {
  const table = document.getElementById("fleet");
  if (!table) return;
  const body = table.querySelector("tbody");
  const site = table.dataset.site;
  const url = "/api/fleet" + (site ? "?site=" + encodeURIComponent(site) : "");

  function cell(row, text, href) {
    const td = row.insertCell();
    if (href) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text;
    }
    return td;
  }

  function render(cabinets) {
    const rows = document.createDocumentFragment();
    for (const c of cabinets) {
      const tr = document.createElement("tr");
      tr.className = "state-" + c.state;
      tr.dataset.cabinet = c.cabinet_id;
      cell(tr, c.cabinet_id, "/cabinet?id=" + encodeURIComponent(c.cabinet_id));
      cell(tr, c.site, "/site?name=" + encodeURIComponent(c.site));
      cell(tr, c.state).className = "state";
      cell(tr, c.cause || "-");
      cell(tr, c.since || "-");
      const down = c.down.map((d) => d.device_id + ": " + d.state + (d.cause ? " (" + d.cause + ")" : ""));
      cell(tr, down.join("; ") || "-");
      rows.appendChild(tr);
    }
    body.replaceChildren(rows);
  }

  async function refresh() {
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.status === 401) {
        window.location = "/login";
        return;
      }
      if (response.ok) render((await response.json()).cabinets);
    } catch (error) {
      // the centre's server restarting: keep the last picture, try again
    }
  }
  setInterval(refresh, 2000);
})();
