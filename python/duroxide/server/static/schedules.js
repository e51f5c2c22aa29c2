// Durable schedules (GET /v1/schedules, docs/schedules.md): next and last fire time, recent
// runs as links, and pause / resume / trigger.
"use strict";
(() => {
  const { el, showError, table, instanceLink } = Dx;
  Dx.header("schedules.html");
  const $ = (id) => document.getElementById(id);

  async function act(scheduleId, action) {
    try {
      const out = await Dx.api(`/v1/schedules/${Dx.idPath(scheduleId)}/${action}`,
                               { method: "POST" });
      if (action === "trigger" && out && out.instance_id) {
        $("error").replaceChildren(el("div", { class: "notice", "data-testid": "triggered" },
          "Started ", instanceLink(out.instance_id)));
      }
      await refresh();
    } catch (err) { showError($("error"), err); }
  }

  async function refresh() {
    try {
      const rows = await Dx.api("/v1/schedules");
      const columns = ["schedule_id", "orchestration", "when", "state", "next_fire",
                       "last_fire", "recent_instances"];
      const shown = rows.map((s) => ({ ...s,
        when: s.cron ? `cron ${s.cron} (${s.timezone})` : `every ${s.every_ms} ms`,
        state: s.paused ? "paused" : s.overlap, next_fire: s.next_fire_ms,
        last_fire: s.last_fire_ms }));
      $("schedules").replaceChildren(table(shown, columns, (column, value) => {
        if (column === "schedule_id") return el("span", { class: "mono", "data-testid": "schedule-id" }, value);
        if (column === "state") return Dx.badge(value);
        if (column === "next_fire" || column === "last_fire") {
          return Dx.when(value);
        }
        if (column === "recent_instances") {
          return el("span", {}, (value || []).slice(0, 3).flatMap((id) => [instanceLink(id), " "]));
        }
        return undefined;
      }));
      for (const tr of $("schedules").querySelectorAll("tbody tr")) {
        const row = rows[tr.rowIndex - 1];
        tr.append(el("td", {},
          row.paused
            ? el("button", { "data-testid": "resume", onclick: () => act(row.schedule_id, "resume") }, "Resume")
            : el("button", { "data-testid": "pause", onclick: () => act(row.schedule_id, "pause") }, "Pause"),
          " ",
          el("button", { "data-testid": "trigger", onclick: () => act(row.schedule_id, "trigger") }, "Trigger")));
      }
      Dx.refreshOk($("error"));
    } catch (err) { Dx.refreshFailed($("error"), err); }
  }
  Dx.autoRefresh(refresh, 5000, $("auto"));
})();
