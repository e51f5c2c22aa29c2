// Messaging (docs/messaging.md): dead letters with redeliver and purge, actors, and topics
// (GET /v1/dead-letters, /v1/actors, /v1/topics).
"use strict";
(() => {
  const { optional, api, el, when, showError, table, instanceLink, payload } = Dx;
  Dx.header("messaging.html");
  const $ = (id) => document.getElementById(id);

  function unavailable(target, what, path) {
    target.replaceChildren(el("div", { class: "notice", "data-testid": "unavailable" },
      `This server has no ${what} endpoint (${path}): messaging is not part of this build.`));
  }

  function done(text) {
    $("dead-result").replaceChildren(el("div", { class: "ok", "data-testid": "dead-result" }, text));
  }

  async function redeliver(letter) {
    if (!confirm(`Redeliver dead letter ${letter.id} to ${letter.instance_id} (queue ${letter.queue})?`)) return;
    try {
      await api(`/v1/dead-letters/${letter.id}/redeliver`, { method: "POST" });
      done(`Dead letter ${letter.id} moved back to ${letter.instance_id}'s queue ${letter.queue}.`);
      await refresh();
    } catch (err) { showError($("error"), err); }
  }

  async function purge(ids) {
    const what = ids ? `dead letter ${ids.join(", ")}` : "every dead letter";
    if (!confirm(`Purge ${what}? This cannot be undone.`)) return;
    try {
      const query = ids ? `?${new URLSearchParams(ids.map((i) => ["ids", String(i)]))}` : "";
      const out = await api(`/v1/dead-letters${query}`, { method: "DELETE" });
      done(`Purged ${out.purged} dead letter${out.purged === 1 ? "" : "s"}.`);
      await refresh();
    } catch (err) { showError($("error"), err); }
  }

  function deadLetters(rows) {
    $("purge-all").hidden = !rows.length;
    $("dead-note").textContent = rows.length ? `${rows.length} undeliverable message${rows.length === 1 ? "" : "s"}` : "";
    const view = rows.map((d) => ({ ...d, actions: null }));
    $("dead-letters").replaceChildren(table(view,
      ["id", "instance_id", "queue", "data", "reason", "created_at_ms", "sender", "actions"], (c, v, row) => {
        if (c === "instance_id") return el("span", { class: "mono" }, v);
        if (c === "data") return payload(v === null || v === undefined ? null : JSON.stringify(v));
        if (c === "created_at_ms") return when(v);
        if (c === "actions") {
          return el("span", { class: "actions nowrap" },
            el("button", { "data-testid": "redeliver", onclick: () => redeliver(row) }, "Redeliver"),
            el("button", { class: "danger", "data-testid": "purge", onclick: () => purge([row.id]) }, "Purge"));
        }
        return undefined;
      }));
  }

  function actors(rows) {
    $("actors").replaceChildren(table(rows, ["actor_type", "key", "status", "instance_id"], (c, v, row) => {
      if (c === "instance_id") return instanceLink(v);
      if (c === "status") return Dx.badge(v);
      if (c === "key") return el("span", { class: "mono" }, v);
      return undefined;
    }));
  }

  async function refresh() {
    try {
      const [topics, dead, actorList] = await Promise.all([
        optional("/v1/topics"), optional("/v1/dead-letters"), optional("/v1/actors")]);
      if (dead === null) unavailable($("dead-letters"), "dead letters", "/v1/dead-letters");
      else deadLetters(Array.isArray(dead) ? dead : dead.items || []);
      if (actorList === null) unavailable($("actors"), "actors", "/v1/actors");
      else actors(actorList);
      if (topics === null) unavailable($("topics"), "topics", "/v1/topics");
      else $("topics").replaceChildren(table(topics.map((t) => ({ ...t,
        subscribers: Array.isArray(t.subscribers) ? t.subscribers.length : t.subscribers })),
        ["topic", "subscribers", "backlog", "last_seq"]));
      Dx.refreshOk($("error"));
    } catch (err) { Dx.refreshFailed($("error"), err); }
  }
  $("purge-all").addEventListener("click", () => purge(null));
  Dx.autoRefresh(refresh, 5000, $("auto"));
})();
