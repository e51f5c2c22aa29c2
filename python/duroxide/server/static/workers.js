// Workers (GET /v1/workers): one compact row each, status coloured by state, load and capacity
// as short figures, the last heartbeat relative, and Drain only for a worker that runs.
"use strict";
(() => {
  const { optional, el, when, showError } = Dx;
  Dx.header("workers.html");
  const $ = (id) => document.getElementById(id);

  async function drain(workerId) {
    if (!confirm(`Drain worker ${workerId}? It finishes its work and takes no more.`)) return;
    try {
      await Dx.api(`/v1/workers/${Dx.idPath(workerId)}/drain`, { method: "POST" });
      await refresh();
    } catch (err) { showError($("error"), err); }
  }

  // {turns_in_flight: 3, activities_in_flight: 1, ...} as "3 turns · 1 activity".
  const LOAD = [["turns_in_flight", "turn", "turns"], ["activities_in_flight", "activity", "activities"],
                ["sessions_held", "session", "sessions"]];
  const CAPACITY = [["orchestration_slots", "orch."], ["worker_slots", "activity"],
                    ["max_sessions", "sessions"]];

  function figures(value, spec, title) {
    if (value === null || value === undefined) return el("span", { class: "muted" }, "-");
    if (typeof value !== "object") return String(value);
    const known = spec.filter(([k]) => k in value);
    const parts = known.map(([k, one, many]) => el("span", {}, el("b", {}, value[k]), " ",
      many === undefined ? one : value[k] === 1 ? one : many));
    if (!parts.length) return el("span", { class: "mono" }, JSON.stringify(value));
    // Every figure, the ones not shown included, on hover.
    const all = Object.entries(value).map(([k, v]) => `${k.replace(/_/g, " ")}: ${JSON.stringify(v)}`).join("\n");
    return el("span", { class: "kv-compact", title: title || all }, parts);
  }

  function serves(row) {
    const s = row.serves;
    if (!s || typeof s !== "object") return el("span", { class: "muted" }, "-");
    const orchestrations = (s.orchestrations || []).map((o) => o.name || o)
      .filter((n) => !String(n).startsWith("__duroxide"));
    const activities = s.activities || [];
    return el("span", { title: `orchestrations: ${orchestrations.join(", ")}\nactivities: ${activities.join(", ")}` },
      `${orchestrations.length} orch. · ${activities.length} activities`);
  }

  function render(rows) {
    if (!rows.length) return el("p", { class: "muted" }, "No worker has registered with this store.");
    const head = ["worker", "status", "host", "load", "capacity", "serves", "heartbeat", ""];
    return el("div", { class: "scroll-x" }, el("table", { class: "grid workers" },
      el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.map((w) => {
        const id = w.worker_id || w.id;
        const running = w.status === "active";
        return el("tr", { "data-testid": "worker-row", dataset: { status: w.status || "" } },
          el("td", {}, el("strong", {}, w.name || id), el("div", { class: "muted mono" }, id)),
          el("td", {}, Dx.badge(w.status || "unknown"),
             w.drain_requested && w.status !== "stopped" ? el("div", { class: "muted" }, "drain requested") : null),
          el("td", {}, w.host || "-", w.pid ? el("div", { class: "muted" }, `pid ${w.pid}`) : null),
          el("td", { "data-testid": "load" }, figures(w.load, LOAD)),
          el("td", { "data-testid": "capacity" }, figures(w.capacity, CAPACITY)),
          el("td", {}, serves(w)),
          el("td", {}, when(w.last_heartbeat_ms),
             w.started_at_ms ? el("div", { class: "muted" }, "up since ", when(w.started_at_ms)) : null),
          el("td", {}, running && id ? el("button", { class: "danger", "data-testid": "drain",
                                                      onclick: () => drain(id) }, "Drain") : null));
      }))));
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
      $("workers").replaceChildren(render(rows));
      Dx.refreshOk($("error"));
    } catch (err) { Dx.refreshFailed($("error"), err); }
  }
  Dx.autoRefresh(refresh, 5000, $("auto"));
})();
