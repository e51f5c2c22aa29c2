// Named limits (docs/flow-control.md; GET /v1/limits): each limit's settings, what runs under
// it now, what waits for it, and for per-key limits the busiest keys; below, the tasks that
// wait for a limit (GET /v1/waiting-activities), with links to their instances.
"use strict";
(() => {
  const { optional, el, when, table, instanceLink } = Dx;
  Dx.header("limits.html");
  const $ = (id) => document.getElementById(id);

  function settings(l) {
    const parts = [];
    if (l.concurrency !== null && l.concurrency !== undefined) parts.push(`at most ${l.concurrency} at once`);
    if (l.rate_per_s !== null && l.rate_per_s !== undefined) {
      parts.push(`${l.rate_per_s}/s` + (l.burst ? ` (burst ${l.burst})` : ""));
    }
    if (l.per_key) parts.push("per key");
    return parts.length ? parts.join(", ") : "no bound";
  }

  // How full a concurrency limit is, as a small bar.
  function fill(l) {
    if (l.per_key) {
      return el("span", {}, el("b", {}, l.in_flight),
        l.concurrency ? el("span", { class: "muted" }, ` (at most ${l.concurrency} per key)`) : "");
    }
    const figure = el("span", {}, el("b", {}, l.in_flight), l.concurrency ? ` / ${l.concurrency}` : "");
    if (!l.concurrency || l.per_key) return figure;
    const pct = Math.min(100, (100 * l.in_flight) / l.concurrency);
    return el("span", { class: "fill" }, figure,
      el("span", { class: "fill-track" }, el("span", { class: `fill-bar ${pct >= 100 ? "full" : ""}`,
                                                       style: `width:${pct}%` })));
  }

  function topKeys(keys) {
    if (!keys || !keys.length) return el("span", { class: "muted" }, "-");
    return el("span", { class: "top-keys" }, keys.slice(0, 5).map(([key, running, waiting]) =>
      el("span", { class: "key-chip", title: `${key}: ${running} in flight, ${waiting} waiting` },
         el("span", { class: "mono" }, key), ` ${running}`, waiting ? el("span", { class: "muted" }, ` +${waiting}`) : "")));
  }

  function renderLimits(rows) {
    if (!rows.length) return el("p", { class: "muted" }, "No limit is defined (duroxide limits set NAME ..., or client.set_limit).");
    return el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, ["limit", "settings", "in flight", "waiting", "top keys (in flight +waiting)", "updated"]
        .map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.map((l) => el("tr", { "data-testid": "limit-row", dataset: { name: l.name } },
        el("td", {}, el("strong", { class: "mono" }, l.name)),
        el("td", { "data-testid": "limit-settings" }, settings(l)),
        el("td", { "data-testid": "limit-in-flight" }, fill(l)),
        el("td", { "data-testid": "limit-waiting" }, l.waiting ? el("b", {}, l.waiting) : "0"),
        el("td", { "data-testid": "limit-top-keys" }, topKeys(l.top_keys)),
        el("td", {}, when(l.updated_at_ms || l.created_at_ms))))));
  }

  async function refresh() {
    try {
      const [limits, waiting] = await Promise.all([optional("/v1/limits"),
                                                   optional("/v1/waiting-activities?limit=200")]);
      if (limits === null) {
        $("limits").replaceChildren(el("div", { class: "notice", "data-testid": "unavailable" },
          "This server has no limits endpoint (/v1/limits): named limits are not part of this build."));
      } else {
        $("limits").replaceChildren(renderLimits(limits));
      }
      const rows = (waiting || []).filter((w) => w.limit);
      $("waiting").replaceChildren(table(rows, ["instance_id", "name", "limit", "limit_key", "reason", "waiting_since_ms"],
        (c, v) => {
          if (c === "instance_id") return instanceLink(v);
          if (c === "reason") return v === "undefined_limit" ? "the limit is not defined" : "the limit is full";
          if (c === "waiting_since_ms") return when(v);
          return undefined;
        }));
      Dx.refreshOk($("error"));
    } catch (err) { Dx.refreshFailed($("error"), err); }
  }
  Dx.autoRefresh(refresh, 5000, $("auto"));
})();
