// One instance: summary, actions, what it waits on, input, output or error (tracebacks root
// cause first), custom status, KV, executions, the timeline (bars open their details), the
// task-graph DAG (graph instances only), the sub-orchestration tree and the history.
"use strict";
(() => {
  const { api, optional, el, fmtTime, fmtDuration, when, badge, instanceLink, pretty, parse, table,
          showError } = Dx;
  Dx.header("");
  const $ = (id) => document.getElementById(id);
  const id = Dx.query("id");
  const base = `/v1/instances/${Dx.idPath(id || "")}`;
  const GRAPH = "duroxide.graph"; // the orchestration that runs task graphs (docs/task-graphs.md)
  let detail = null;
  let pending = null;
  let graph = null;
  let events = [];
  let selectedExecution = null;
  let selectedBar = null;
  let selectedNode = null;
  let workerNames = new Map();

  // Replaces a container's content only when what it shows changed, so that what the user
  // opened in it (expanded payloads, collapsed frames) survives the auto-refresh.
  function renderIfChanged(container, signature, build) {
    const sig = JSON.stringify(signature);
    if (container.dataset.sig === sig) return;
    container.dataset.sig = sig;
    const out = build();
    container.replaceChildren(...(Array.isArray(out) ? out : [out]));
  }

  function renderSummary() {
    $("title").textContent = id;
    $("badge").replaceChildren(badge(detail.status, detail.error));
    document.title = `${id} · duroxide`;
    const took = detail.updated_at && detail.created_at && !["Running", "Pending", "Suspended"].includes(detail.status)
      ? ` (took ${fmtDuration(detail.updated_at - detail.created_at)})` : "";
    const facts = [
      ["Orchestration", detail.orchestration_name ? `${detail.orchestration_name} ${detail.orchestration_version}` : "-"],
      ["Status", badge(detail.status, detail.error)],
      ["Execution", detail.current_execution_id || "-"],
      ["Parent", detail.parent_instance_id ? instanceLink(detail.parent_instance_id) : "-"],
      ["Created", el("span", {}, when(detail.created_at), el("span", { class: "muted" }, ` ${fmtTime(detail.created_at)}`))],
      ["Updated", el("span", {}, when(detail.updated_at), took)],
    ];
    if (detail.status === "Suspended") facts.push(["Reason", detail.error || "-"]);
    $("summary").replaceChildren(el("dl", { class: "facts" },
      facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-testid": `fact-${k.toLowerCase()}` }, v)])));
    const shown = Dx.shownStatus(detail.status, detail.error);
    const failed = ["Failed", "Canceled", "Terminated"].includes(shown);
    $("result-title").textContent = failed ? "Error" : "Output";
    renderIfChanged($("result"), [detail.status, detail.error, detail.output, rootCauseSig()], () => {
      if (failed) return errorWithRootCause();
      if (detail.status === "Completed") return el("pre", {}, pretty(detail.output));
      return el("pre", { class: "muted" }, detail.status === "Suspended" ? "(suspended)" : "(not finished)");
    });
    $("custom").replaceChildren(detail.custom_status === null ? el("span", { class: "muted" }, "none")
      : el("div", {}, el("pre", {}, pretty(detail.custom_status)),
           el("p", { class: "muted" }, `version ${detail.custom_status_version}`)));
    // Rebuilt only when the state changes: what the user typed ("from event", force) stays.
    if ($("actions").dataset.busy !== "1") {
      renderIfChanged($("actions"), [detail.status, detail.error],
                      () => DxOps.buttons(detail, { suspend, resume, terminate, cancel, rerun, remove }));
    }
    $("raise").disabled = DxOps.ENDED.includes(shown);
  }

  // A failed activity's own failure (its traceback when the runtime kept one), the root cause
  // of most failed instances: shown first, the orchestration's error after it.
  function failedActivity() {
    for (let i = events.length - 1; i >= 0; i--) {
      if (events[i].kind === "ActivityFailed") return events[i];
    }
    return null;
  }

  function rootCauseSig() { const f = failedActivity(); return f ? f.event_id : null; }

  function errorWithRootCause() {
    const activity = failedActivity();
    const own = DxView.errorView(detail.error || detail.stored_output || "", "error-text");
    if (!activity || detail.status === "Terminated" || /^canceled: /.test(detail.error || "")) return own;
    const scheduled = events.find((e) => e.event_id === activity.source_event_id);
    const name = scheduled ? (parse(scheduled.data) || {}).name : "";
    return el("div", {},
      el("p", { class: "muted" }, `Root cause: activity ${name} (event #${activity.event_id}) failed:`),
      DxView.errorView(activity.data, "root-cause"),
      el("details", { class: "tb-engine mt12" }, el("summary", {}, "the orchestration's error"), own));
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
        el("span", { class: "muted" }, n.orchestration_name), badge(n.shown_status || n.status, n.output)),
      (byParent.get(n.instance_id) || []).length
        ? el("ul", { class: "tree" }, byParent.get(n.instance_id).map(item)) : null);
    const root = nodeOf.get(tree.root_id);
    $("tree").replaceChildren(tree.size <= 1 ? el("p", { class: "muted" }, "No sub-orchestrations.")
      : el("ul", { class: "tree root" }, root ? item(root) : []));
  }

  const workerName = (owner) => workerNames.get(owner) || owner;

  // Why a queued start waits, when no live worker can run it (GET /v1/unservable-work).
  async function unservable() {
    const groups = (await optional("/v1/unservable-work").catch(() => null)) || [];
    const mine = groups.find((g) => (g.instance_ids || []).includes(id));
    return mine ? mine.reason : null;
  }

  // A queued activity that waits for a named limit (docs/flow-control.md): the server lists
  // such waits in /v1/waiting-activities (reason "limit" or "undefined_limit"); each one of
  // this instance is marked on its "Waiting on" entry. Asked only while something is queued.
  async function addLimitWaits(p) {
    const queued = ((p && p.activities) || []).filter((a) => a.state === "queued");
    if (!queued.length) return;
    const waits = (await optional("/v1/waiting-activities?limit=1000").catch(() => null)) || [];
    for (const w of waits) {
      if (w.instance_id !== id || !w.limit) continue;
      const a = queued.find((q) => q.activity_id === w.activity_id);
      if (a) Object.assign(a, { limit: w.limit, limit_key: w.limit_key, limit_reason: w.reason });
    }
  }

  function renderGraph() {
    if (!graph || !(graph.nodes || []).length) { $("graph-section").hidden = true; return; }
    $("graph-section").hidden = false;
    $("graph").replaceChildren(DxGraph.render(graph, { selected: selectedNode, workerName,
      onSelect: (n) => { selectedNode = DxGraph.key(n); renderGraph(); } }));
    const node = graph.nodes.find((n) => DxGraph.key(n) === selectedNode);
    renderIfChanged($("node-detail"), [node || null, events.length], () => (node
      ? DxGraph.detail(node, events, workerName, () => { selectedNode = null; renderGraph(); }) : []));
  }

  function renderTimeline() {
    const running = ["Running", "Pending", "Suspended"].includes(detail.status);
    const current = selectedExecution === detail.current_execution_id;
    $("timeline").replaceChildren(...DxView.timeline(events, { running: running && current,
      ended: !running || !current, selected: selectedBar,
      cancelledTimers: new Set(((pending && pending.timers) || []).filter((t) => t.state === "cancelled")
        .map((t) => t.timer_id)),
      onSelect: (b) => { selectedBar = b.key; renderTimeline(); } }));
    const bar = DxView.spans(events).find((b) => b.key === selectedBar);
    const extra = barExtra(bar);
    renderIfChanged($("bar-detail"), [bar || null, extra], () => (bar
      ? DxView.barDetail(bar, extra, () => { selectedBar = null; renderTimeline(); }) : []));
  }

  // What history does not record about a bar: the worker and attempt of an activity in flight
  // (from "Waiting on") or of a task-graph node (from the graph).
  function barExtra(bar) {
    if (!bar) return {};
    const live = pending && (pending.activities || []).find((a) => a.activity_id === bar.key);
    if (live) return { worker: live.worker ? workerName(live.worker) : null, attempt: live.attempt ? String(live.attempt) : null,
                       waitsFor: live.waits_for || null,
                       lastError: live.last_error };
    const node = graph && bar.node !== undefined && graph.nodes.find((n) => DxGraph.key(n) === bar.node);
    if (node) return { worker: node.worker ? workerName(node.worker) : null, attempt: node.attempts ? String(node.attempts) : null };
    return {};
  }

  function renderInput() {
    const started = events.find((e) => e.kind === "OrchestrationStarted");
    const input = started ? (parse(started.data) || {}).input : undefined;
    const isGraph = detail.orchestration_name === GRAPH;
    $("input-title").textContent = isGraph ? "Input: the graph" : "Input";
    renderIfChanged($("input"), [started ? started.event_id : null, selectedExecution], () => {
      if (!started) return el("pre", {}, "-");
      return isGraph ? DxGraph.inputView(input) : el("pre", {}, pretty(input));
    });
  }

  async function loadExecution() {
    events = await api(`${base}/executions/${selectedExecution}/history?raw=true`);
    renderTimeline();
    renderInput();
    renderIfChanged($("events"), [selectedExecution, events.length, events.length && events[events.length - 1].event_id],
                    () => DxView.history(events));
  }

  async function refresh() {
    try {
      detail = await api(base);
      const isGraph = detail.orchestration_name === GRAPH;
      const [kv, executions, tree, pend, g] = await Promise.all([
        api(`${base}/kv`), api(`${base}/executions`), optional(`${base}/tree`),
        optional(`${base}/pending`), isGraph ? optional(`${base}/graph`) : null]);
      pending = pend;
      graph = g;
      await addLimitWaits(pending);
      const working = ((pending && pending.activities) || []).some((a) => a.worker);
      if ((isGraph || working) && !workerNames.size) {
        const workers = (await optional("/v1/workers").catch(() => null)) || [];
        workerNames = new Map(workers.flatMap((w) => (w.session_owners || []).map((o) => [o, w.name || w.worker_id])));
      }
      $("kv").replaceChildren(table(Object.entries(kv.values).map(([key, value]) => ({ key, value })),
        ["key", "value"], (c, v) => (c === "value" ? Dx.payload(v) : undefined)));
      const select = $("execution");
      const ids = executions.map((x) => x.execution_id);
      if (selectedExecution === null || !ids.includes(selectedExecution)) selectedExecution = ids[ids.length - 1] || null;
      select.replaceChildren(...ids.map((n) => el("option", { value: n, selected: n === selectedExecution }, n)));
      const ex = executions.find((x) => x.execution_id === selectedExecution);
      $("exec-facts").replaceChildren(ex ? el("span", {}, `${ex.status}, ${ex.event_count} events, started `,
        when(ex.started_at), ex.completed_at ? `, took ${fmtDuration(ex.completed_at - ex.started_at)}` : "") : "");
      if (tree) renderTree(tree); // none while its start is queued (Pending)
      else $("tree").replaceChildren(el("p", { class: "muted" }, "No sub-orchestrations."));
      if (pending && detail.status === "Pending") pending.unservable = await unservable();
      if (selectedExecution !== null) await loadExecution();
      renderSummary();
      renderIfChanged($("pending"), [pending, detail.status], () => DxOps.pendingView(pending, Dx.shownStatus(detail.status, detail.error), workerName));
      renderGraph();
      Dx.refreshOk($("error"));
    } catch (err) { Dx.refreshFailed($("error"), err); }
  }

  function report(...children) { $("action-result").replaceChildren(...children); }

  async function act(label, fn) {
    $("actions").dataset.busy = "1";
    try {
      const out = await fn();
      report(DxOps.result("ok", `${label}: ${out && out.status ? `status ${out.status}` : "done"}`));
    } catch (err) { report(); showError($("error"), err); }
    $("actions").dataset.busy = "0";
    await refresh();
  }

  const post = (path, body) => api(`${base}/${path}`, { method: "POST", body });

  function suspend() {
    const reason = prompt(`Suspend ${id}? No new turn or activity of it starts until it is resumed. Reason:`, "");
    if (reason === null) return;
    act("suspended", () => post("suspend", { reason: reason || null }));
  }

  function resume() {
    if (!confirm(`Resume ${id}? What arrived while it was suspended is processed next.`)) return;
    act("resumed", () => post("resume", {}));
  }

  function terminate() {
    const reason = prompt(`Terminate ${id} now, without running its code (its running sub-orchestrations too)? Reason:`, "");
    if (reason === null) return;
    act("terminated", () => post("terminate", { reason: reason || null }));
  }

  function cancel() {
    if (!confirm(`Cancel instance ${id}? Its code gets the cancel and it ends Canceled.`)) return;
    act("cancel requested", () => post("cancel", { reason: "canceled from the dashboard" }));
  }

  async function rerun() {
    const from = $("rerun-from").value ? Number($("rerun-from").value) : null;
    const what = from ? `with its history before event #${from}` : Dx.shownStatus(detail.status, detail.error) === "Failed"
      ? "from the step that failed" : "afresh with the same input";
    if (!confirm(`Rerun ${id} ${what} as a new instance, under the code that runs now?`)) return;
    try {
      const out = await post("rerun", from ? { from_event_id: from } : {});
      await DxOps.verifyRerun(out.instance_id, report);
    } catch (err) { report(); showError($("error"), err); }
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
    const waited = pending ? (pending.events || []).map((e) => e.name) : null;
    const nobody = waited !== null && !waited.includes(name);
    const warning = nobody ? `Nothing waits for "${name}" now` +
      (waited.length ? ` (it waits for: ${waited.join(", ")})` : "") +
      ". The event is kept, and consumed only if the code later waits for that name." : "";
    if (!confirm(`Raise event "${name}" on ${id}?${warning ? `\n\n${warning}` : ""}`)) return;
    act(`raised "${name}"`, async () => {
      const out = await post("events", { name, data });
      const text = (out && out.warning) || warning;
      if (text) setTimeout(() => $("action-result").append(el("div", { class: "warning", "data-testid": "raise-warning" }, text)), 0);
      return out;
    });
  });
  $("execution").addEventListener("change", () => {
    selectedExecution = Number($("execution").value);
    selectedBar = null;
    loadExecution().catch((e) => showError($("error"), e));
  });
  if (!id) { showError($("error"), "no instance id given (instance.html?id=...)"); return; }
  Dx.autoRefresh(refresh, 3000, $("auto"));
})();
