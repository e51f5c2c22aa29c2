// One instance: summary, input, output/error, custom status, KV, executions, the history as a
// timeline of bars (scheduled -> completed), the sub-orchestration tree, the task-graph DAG
// (when the server has graphs), and actions behind a confirmation.
"use strict";
(() => {
  const { api, optional, el, fmtTime, fmtDuration, badge, instanceLink, pretty, parse, table,
          showError } = Dx;
  Dx.header("");
  const $ = (id) => document.getElementById(id);
  const id = Dx.query("id");
  const base = `/v1/instances/${Dx.idPath(id || "")}`;
  let detail = null;
  let selectedExecution = null;

  const COMPLETES = {
    ActivityScheduled: ["ActivityCompleted", "ActivityFailed"],
    TimerCreated: ["TimerFired"],
    SubOrchestrationScheduled: ["SubOrchestrationCompleted", "SubOrchestrationFailed"],
  };
  const KIND_CLASS = { ActivityScheduled: "activity", TimerCreated: "timer",
                       SubOrchestrationScheduled: "suborchestration" };

  // Bars for the timeline: one per scheduled activity, timer or sub-orchestration.
  function spans(events) {
    const ends = new Map();
    for (const e of events) if (e.source_event_id !== null) ends.set(e.source_event_id, e);
    const out = [];
    for (const e of events) {
      if (!COMPLETES[e.kind]) continue;
      const data = parse(e.data) || {};
      const end = ends.get(e.event_id);
      const done = end && COMPLETES[e.kind].includes(end.kind);
      let label = data.name || "";
      if (e.kind === "TimerCreated") label = `timer (${fmtDuration((data.fireAtMs || e.timestamp_ms) - e.timestamp_ms)})`;
      out.push({ kind: e.kind, label, start: e.timestamp_ms, end: done ? end.timestamp_ms : null,
                 failed: done && end.kind.endsWith("Failed"), child: data.instance || null });
    }
    return out;
  }

  function renderTimeline(events) {
    if (!events.length) { $("timeline").replaceChildren(el("p", { class: "muted" }, "No history yet.")); return; }
    const bars = spans(events);
    const t0 = events[0].timestamp_ms;
    const running = detail.status === "Running" || detail.status === "Pending";
    const t1 = Math.max(events[events.length - 1].timestamp_ms,
                        running ? Date.now() : 0, ...bars.map((b) => b.end || 0), t0 + 1);
    const pct = (t) => `${(100 * (t - t0)) / (t1 - t0)}%`;
    const rows = bars.map((b) => el("div", { class: "tl-row", "data-testid": "timeline-bar" },
      el("span", { class: "tl-label", title: b.label },
         b.child ? el("a", { href: `instance.html?id=${encodeURIComponent(b.child)}` }, b.label)
                 : b.label, el("span", { class: "muted" }, ` ${KIND_CLASS[b.kind]}`)),
      el("div", { class: "tl-track" }, el("div", {
        class: `tl-bar ${KIND_CLASS[b.kind]} ${b.failed ? "failed" : ""} ${b.end === null ? "open" : ""}`,
        style: `left:${pct(b.start)};width:calc(${pct(b.end === null ? t1 : b.end)} - ${pct(b.start)})`,
        title: `${b.label}: ${fmtTime(b.start)} -> ${b.end === null ? "pending" : fmtTime(b.end)}` })),
      el("span", { class: "tl-dur" }, b.end === null ? "pending" : fmtDuration(b.end - b.start))));
    const axis = el("div", { class: "tl-axis" }, el("span", {}, ""),
      el("span", {}, el("span", {}, "0"), el("span", {}, fmtDuration((t1 - t0) / 2)),
         el("span", {}, fmtDuration(t1 - t0))), el("span", {}, ""));
    $("timeline").replaceChildren(...(rows.length ? rows : [el("p", { class: "muted" },
      "No activities, timers or sub-orchestrations in this execution.")]), axis);
  }

  function renderSummary() {
    $("title").textContent = id;
    $("badge").replaceChildren(badge(detail.status));
    document.title = `${id} · duroxide`;
    const facts = [
      ["Orchestration", detail.orchestration_name ? `${detail.orchestration_name} ${detail.orchestration_version}` : "-"],
      ["Status", badge(detail.status)],
      ["Execution", detail.current_execution_id || "-"],
      ["Parent", detail.parent_instance_id ? instanceLink(detail.parent_instance_id) : "-"],
      ["Created", fmtTime(detail.created_at)], ["Updated", fmtTime(detail.updated_at)],
    ];
    $("summary").replaceChildren(el("dl", { class: "facts" },
      facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-testid": `fact-${k.toLowerCase()}` }, v)])));
    if (detail.status === "Failed") {
      $("result-title").textContent = "Error";
      $("result").className = "err";
      $("result").textContent = detail.error;
    } else {
      $("result-title").textContent = "Output";
      $("result").className = "";
      $("result").textContent = detail.status === "Completed" ? pretty(detail.output) : "(not finished)";
    }
    $("custom").replaceChildren(detail.custom_status === null ? el("span", { class: "muted" }, "none")
      : el("div", {}, el("pre", {}, pretty(detail.custom_status)),
           el("p", { class: "muted" }, `version ${detail.custom_status_version}`)));
    const ended = detail.status === "Completed" || detail.status === "Failed";
    $("actions").replaceChildren(
      el("button", { class: "danger", id: "cancel", disabled: ended, onclick: cancel }, "Cancel"),
      el("label", {}, el("input", { type: "checkbox", id: "force" }), " force"),
      el("button", { class: "danger", id: "delete", onclick: remove }, "Delete"));
    $("raise").disabled = ended;
  }

  function renderTree(tree) {
    const byParent = new Map();
    for (const n of tree.nodes) {
      if (n.instance_id === tree.root_id) continue;
      const list = byParent.get(n.parent_instance_id) || [];
      list.push(n);
      byParent.set(n.parent_instance_id, list);
    }
    const nodeOf = new Map(tree.nodes.map((n) => [n.instance_id, n]));
    const item = (n) => el("li", {}, el("span", { class: "node" },
        n.instance_id === id ? el("strong", { class: "mono" }, n.instance_id) : instanceLink(n.instance_id),
        el("span", { class: "muted" }, n.orchestration_name), badge(n.status)),
      (byParent.get(n.instance_id) || []).length
        ? el("ul", { class: "tree" }, byParent.get(n.instance_id).map(item)) : null);
    const root = nodeOf.get(tree.root_id);
    $("tree").replaceChildren(tree.size <= 1 ? el("p", { class: "muted" }, "No sub-orchestrations.")
      : el("ul", { class: "tree root" }, root ? item(root) : []));
  }

  // The DAG of a distributed task graph: nodes in columns by depth, edges as SVG lines.
  function renderGraph(graph) {
    const nodes = graph.nodes || [];
    if (!nodes.length) { $("graph-section").hidden = true; return; }
    const key = (n) => n.node_id ?? n.id ?? n.name;
    const deps = (n) => n.depends_on ?? n.deps ?? n.dependencies ?? [];
    const depth = new Map();
    const depthOf = (n, seen = new Set()) => {
      if (depth.has(key(n))) return depth.get(key(n));
      if (seen.has(key(n))) return 0;
      seen.add(key(n));
      const d = Math.max(-1, ...deps(n).map((k) => {
        const p = nodes.find((m) => key(m) === k);
        return p ? depthOf(p, seen) : -1;
      })) + 1;
      depth.set(key(n), d);
      return d;
    };
    nodes.forEach((n) => depthOf(n));
    const columns = [];
    for (const n of nodes) (columns[depth.get(key(n))] = columns[depth.get(key(n))] || []).push(n);
    const W = 170, H = 54, GX = 60, GY = 16;
    const pos = new Map();
    columns.forEach((col, x) => col.forEach((n, y) => pos.set(key(n), [x * (W + GX), y * (H + GY)])));
    const width = columns.length * (W + GX), height = Math.max(...columns.map((c) => c.length)) * (H + GY);
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    const add = (tag, attrs, text, parent = svg) => {
      const node = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
      if (text) node.textContent = text;
      parent.append(node);
      return node;
    };
    const colors = { completed: "#23a26d", cached: "#23a26d", failed: "#d64545",
                     running: "#2f7de1", skipped: "#b0b7c6", pending: "#9a8c2e" };
    for (const n of nodes) for (const d of deps(n)) {
      if (!pos.has(d)) continue;
      const [x1, y1] = pos.get(d), [x2, y2] = pos.get(key(n));
      add("line", { x1: x1 + W, y1: y1 + H / 2, x2, y2: y2 + H / 2, stroke: "#9aa3b5" });
    }
    for (const n of nodes) {
      const [x, y] = pos.get(key(n));
      const status = String(n.status || "pending").toLowerCase();
      const g = add("g", { "data-testid": "graph-node" });
      add("title", {}, n.error ? `${n.status}: ${n.error}` : String(n.status || "pending"), g);
      add("rect", { x, y, width: W, height: H, rx: 6, fill: "#fff",
                    stroke: colors[status] || "#b0b7c6", "stroke-width": 2 }, null, g);
      add("text", { x: x + 10, y: y + 22, "font-size": 13, "font-weight": 600 },
          n.task ? `${n.task} #${key(n)}` : String(key(n)), g);
      add("text", { x: x + 10, y: y + 40, "font-size": 12, fill: colors[status] || "#6b7385" },
          n.worker ? `${n.status} · ${n.worker}` : n.status || "pending", g);
    }
    $("graph").replaceChildren(svg);
    $("graph-section").hidden = false;
  }

  async function loadExecution() {
    const events = await api(`${base}/executions/${selectedExecution}/history`);
    renderTimeline(events);
    const started = events.find((e) => e.kind === "OrchestrationStarted");
    $("input").textContent = started ? pretty((parse(started.data) || {}).input) : "-";
    $("events").replaceChildren(table(events, ["event_id", "kind", "source_event_id",
      "timestamp_ms", "data"], (c, v) => (c === "data" ? el("code", {}, v === null ? "-" : v)
        : undefined)));
  }

  async function refresh() {
    try {
      detail = await api(base);
      renderSummary();
      const [kv, executions, tree, graph] = await Promise.all([
        api(`${base}/kv`), api(`${base}/executions`), api(`${base}/tree`),
        optional(`${base}/graph`).catch(() => null)]);
      $("kv").replaceChildren(table(Object.entries(kv.values).map(([key, value]) => ({ key, value })),
        ["key", "value"], (c, v) => (c === "value" ? el("code", {}, v) : undefined)));
      const select = $("execution");
      const ids = executions.map((x) => x.execution_id);
      if (selectedExecution === null || !ids.includes(selectedExecution)) selectedExecution = ids[ids.length - 1] || null;
      select.replaceChildren(...ids.map((n) => el("option", { value: n, selected: n === selectedExecution }, n)));
      const ex = executions.find((x) => x.execution_id === selectedExecution);
      $("exec-facts").textContent = ex ? `${ex.status}, ${ex.event_count} events, started ${fmtTime(ex.started_at)}` +
        (ex.completed_at ? `, took ${fmtDuration(ex.completed_at - ex.started_at)}` : "") : "";
      renderTree(tree);
      if (graph) renderGraph(graph); else $("graph-section").hidden = true;
      if (selectedExecution !== null) await loadExecution();
      $("error").replaceChildren();
    } catch (err) { showError($("error"), err); }
  }

  async function act(label, fn) {
    try {
      const result = await fn();
      $("action-result").textContent = `${label}: ${JSON.stringify(result)}`;
      await refresh();
    } catch (err) { $("action-result").textContent = ""; showError($("error"), err); }
  }

  function cancel() {
    if (!confirm(`Cancel instance ${id}? It will end Failed with "canceled".`)) return;
    act("cancel", () => api(`${base}/cancel`, { method: "POST", body: { reason: "canceled from the dashboard" } }));
  }

  async function remove() {
    const force = $("force").checked;
    if (!confirm(`Delete instance ${id} and all its sub-orchestrations${force ? " (force)" : ""}? This cannot be undone.`)) return;
    try {
      await api(`${base}?force=${force}`, { method: "DELETE" });
      location.href = "index.html";
    } catch (err) { showError($("error"), err); }
  }

  $("raise-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("event-name").value.trim();
    let data = null;
    if ($("event-data").value.trim()) {
      try { data = JSON.parse($("event-data").value); } catch (err) {
        showError($("error"), `event data is not JSON: ${err.message}`); return;
      }
    }
    if (!confirm(`Raise event "${name}" on ${id}?`)) return;
    act("raise", () => api(`${base}/events`, { method: "POST", body: { name, data } }));
  });
  $("execution").addEventListener("change", () => {
    selectedExecution = Number($("execution").value);
    loadExecution().catch((e) => showError($("error"), e));
  });
  if (!id) { showError($("error"), "no instance id given (instance.html?id=...)"); return; }
  Dx.autoRefresh(refresh, 3000, $("auto"));
})();
