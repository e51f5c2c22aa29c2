// Workers with their load and last heartbeat (GET /v1/workers, added by the worker fleet).
"use strict";
(() => {
  const { optional, el, fmtTime, showError, table } = Dx;
  Dx.header("workers.html");
  const $ = (id) => document.getElementById(id);

  async function drain(workerId) {
    if (!confirm(`Drain worker ${workerId}? It finishes its work and takes no more.`)) return;
    try {
      await Dx.api(`/v1/workers/${Dx.idPath(workerId)}/drain`, { method: "POST" });
      await refresh();
    } catch (err) { showError($("error"), err); }
  }

  async function refresh() {
    try {
      const data = await optional("/v1/workers");
      if (data === null) {
        $("workers").replaceChildren(el("div", { class: "notice", "data-testid": "unavailable" },
          "This server has no worker endpoints (/v1/workers): the worker fleet is not part of this build."));
        return;
      }
      const rows = Array.isArray(data) ? data : data.items || data.workers || [];
      const keys = new Set(rows.flatMap((r) => Object.keys(r)));
      const preferred = ["name", "worker_id", "status", "host", "pid", "load", "capacity",
                         "last_heartbeat_ms", "last_heartbeat", "drain_requested"].filter((k) => keys.has(k));
      $("workers").replaceChildren(table(rows, preferred.length ? preferred : null, (column, value, row) => {
        if (column === "load" && value && typeof value === "object") {
          return Object.entries(value).map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`).join(", ");
        }
        if (column === "status" || column === "state") return Dx.badge(value);
        if (/heartbeat/.test(column) && typeof value === "number") return fmtTime(value);
        return undefined;
      }));
      for (const tr of $("workers").querySelectorAll("tbody tr")) {
        const row = rows[tr.rowIndex - 1];
        const wid = row.worker_id || row.id;
        if (wid) tr.append(el("td", {}, el("button", { class: "danger", onclick: () => drain(wid) }, "Drain")));
      }
      $("error").replaceChildren();
    } catch (err) { showError($("error"), err); }
  }
  Dx.autoRefresh(refresh, 5000, $("auto"));
})();
