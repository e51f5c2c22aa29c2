// The DAG of a distributed task graph: nodes in columns by depth, edges with arrowheads,
// labels kept inside their boxes, a failed node's error written in it, and a click on a node
// opening its input, output, error, worker and attempts.
"use strict";
const DxGraph = (() => {
  const { el, fmtDuration, when, parse, payload } = Dx;
  const NS = "http://www.w3.org/2000/svg";
  const W = 200, H = 84, GX = 70, GY = 18, CHAR = 7.2; // CHAR: px per character at 12-13 px
  const COLORS = { completed: "#23a26d", cached: "#23a26d", failed: "#d64545", running: "#2f7de1",
                   skipped: "#b0b7c6", pending: "#9a8c2e" };

  const key = (n) => n.id ?? n.node_id ?? n.name;
  const deps = (n) => n.deps ?? n.depends_on ?? n.dependencies ?? [];

  function fit(text, width) {
    const max = Math.floor(width / CHAR);
    text = String(text);
    return text.length <= max ? text : text.slice(0, Math.max(1, max - 1)) + "…";
  }

  function layout(nodes) {
    const byKey = new Map(nodes.map((n) => [key(n), n]));
    const depth = new Map();
    const depthOf = (n, seen = new Set()) => {
      if (depth.has(key(n))) return depth.get(key(n));
      if (seen.has(key(n))) return 0;
      seen.add(key(n));
      const d = Math.max(-1, ...deps(n).map((k) => (byKey.has(k) ? depthOf(byKey.get(k), seen) : -1))) + 1;
      depth.set(key(n), d);
      return d;
    };
    nodes.forEach((n) => depthOf(n));
    const columns = [];
    for (const n of nodes) (columns[depth.get(key(n))] = columns[depth.get(key(n))] || []).push(n);
    const pos = new Map();
    columns.forEach((col, x) => col.forEach((n, y) => pos.set(key(n), [x * (W + GX) + 2, y * (H + GY) + 2])));
    return { pos, width: columns.length * (W + GX) - GX + 6,
             height: Math.max(...columns.map((c) => c.length)) * (H + GY) - GY + 6 };
  }

  // A node's error as one line: the message inside {'Application': {'message': ...}} or the text.
  function errorLine(n) {
    if (!n.error) return "";
    const { message } = DxView.errorParts(n.error);
    // "Activity 'score' call failed: ValueError: ..." -> the activity's own error.
    return String(message || n.error).trim().split("\n").pop().replace(/^Activity '[^']*' call failed: /, "");
  }

  function render(graph, opts) {
    const nodes = graph.nodes || [];
    const { pos, width, height } = layout(nodes);
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    const add = (tag, attrs, text, parent = svg) => {
      const node = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
      if (text !== undefined && text !== null) node.textContent = text;
      parent.append(node);
      return node;
    };
    const defs = add("defs", {});
    const marker = add("marker", { id: "dx-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
                                   markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, null, defs);
    add("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#7d869a" }, null, marker);
    for (const n of nodes) for (const d of deps(n)) {
      if (!pos.has(d)) continue;
      const [x1, y1] = pos.get(d), [x2, y2] = pos.get(key(n));
      const sx = x1 + W, sy = y1 + H / 2, ex = x2 - 1, ey = y2 + H / 2, mx = (sx + ex) / 2;
      add("path", { d: `M ${sx} ${sy} C ${mx} ${sy}, ${mx} ${ey}, ${ex} ${ey}`, fill: "none",
                    stroke: "#9aa3b5", "stroke-width": 1.5, "marker-end": "url(#dx-arrow)",
                    "data-testid": "graph-edge" });
    }
    for (const n of nodes) {
      const [x, y] = pos.get(key(n));
      const status = String(n.status || "pending").toLowerCase();
      const color = COLORS[status] || "#b0b7c6";
      const g = add("g", { "data-testid": "graph-node", class: `graph-node ${opts.selected === key(n) ? "selected" : ""}`,
                           "data-node": key(n), tabindex: 0, role: "button" });
      g.addEventListener("click", () => opts.onSelect(n));
      g.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); opts.onSelect(n); }
      });
      const title = `${n.task || key(n)} #${key(n)}: ${n.status || "pending"}${n.error ? `\n${errorLine(n)}` : ""}`;
      add("title", {}, title, g);
      add("rect", { x, y, width: W, height: H, rx: 6, fill: status === "failed" ? "#fdf4f4" : "#fff",
                    stroke: color, "stroke-width": 2 }, null, g);
      add("text", { x: x + 10, y: y + 20, "font-size": 13, "font-weight": 600 },
          fit(n.task ? `${n.task} #${key(n)}` : String(key(n)), W - 20), g);
      const worker = n.worker ? opts.workerName(n.worker) : "";
      const second = [n.status || "pending", n.attempts > 1 ? `${n.attempts} attempts` : "", worker]
        .filter(Boolean).join(" · ");
      add("text", { x: x + 10, y: y + 38, "font-size": 12, fill: color }, fit(second, W - 20), g);
      if (n.error) {
        // The error on two lines: it is what an operator opens a failed graph for.
        const line = errorLine(n), max = Math.floor((W - 20) / CHAR);
        const cut = line.length <= max ? line.length : Math.max(line.lastIndexOf(" ", max), max / 2);
        const t = add("text", { x: x + 10, y: y + 56, class: "graph-error", "data-testid": "graph-node-error" }, null, g);
        add("tspan", { x: x + 10, dy: 0 }, line.slice(0, cut).trim(), t);
        if (cut < line.length) add("tspan", { x: x + 10, dy: 14 }, fit(line.slice(cut).trim(), W - 20), t);
      }
      else if (n.start && n.end) add("text", { x: x + 10, y: y + 56, "font-size": 11, fill: "#6b7385" },
                                     fit(fmtDuration(n.end - n.start), W - 20), g);
    }
    return svg;
  }

  // The node's events in the history: its last ActivityScheduled and that one's completion.
  function nodeEvents(n, events) {
    const scheduled = events.filter((e) => e.kind === "ActivityScheduled" &&
      ((parse(e.data) || {}).input || {}).node === key(n));
    const last = scheduled[scheduled.length - 1];
    const end = last && events.find((e) => e.source_event_id === last.event_id);
    return { scheduled: last, end };
  }

  function detail(n, events, workerName, onClose) {
    const { scheduled, end } = nodeEvents(n, events);
    const input = scheduled ? (parse(scheduled.data) || {}).input : null;
    const facts = [["Task", n.task], ["Node", `#${key(n)}`], ["Status", n.status],
                   ["Depends on", deps(n).length ? deps(n).map((d) => `#${d}`).join(", ") : "nothing"],
                   ["Worker", n.worker ? workerName(n.worker) : "-"],
                   ["Attempt", n.attempts ? String(n.attempts) : "-"],
                   ["Started", n.start ? when(n.start) : "-"],
                   ["Took", n.start && n.end ? fmtDuration(n.end - n.start) : "-"]];
    if (n.cache_hit) facts.push(["Cache", "result taken from the task cache"]);
    const blocks = [["Input", payload(input ? JSON.stringify(input.args !== undefined ? input.args : input)
                                            : n.input || null, true)]];
    if (end && end.kind === "ActivityCompleted") blocks.push(["Output", payload(end.data, true)]);
    if (n.traceback) blocks.push(["Error", DxView.traceback(n.traceback, "error-detail")]);
    else if (n.error || (end && end.kind === "ActivityFailed")) {
      blocks.push(["Error", DxView.errorView(end && end.kind === "ActivityFailed" ? end.data : n.error)]);
    }
    return DxView.detailPanel(`${n.task} #${key(n)}`, facts, blocks, onClose);
  }

  // A graph instance's input is its node list: shown as the calls it stands for.
  function inputView(input) {
    const nodes = (input && input.nodes) || [];
    const arg = (a) => (a && typeof a === "object" && "$dx_ref" in a ? `#${a.$dx_ref}` : JSON.stringify(a));
    const lines = nodes.map((n, i) => {
      const args = (n.args || []).map(arg).concat(Object.entries(n.kwargs || {}).map(([k, v]) => `${k}=${arg(v)}`));
      return `#${i}  ${n.task}(${args.join(", ")})${i === input.root ? "   <- result" : ""}`;
    });
    return el("div", {}, el("p", { class: "muted" }, `A task graph of ${nodes.length} node${nodes.length === 1 ? "" : "s"}:`),
      el("pre", { "data-testid": "graph-input" }, lines.join("\n")));
  }

  return { render, detail, inputView, key };
})();
