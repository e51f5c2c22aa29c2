// The instance page's views of history: the timeline of bars, the history table with
// expandable payloads, the detail panel a bar or a graph node opens, and tracebacks shown root
// cause first with duroxide's own frames collapsed.
"use strict";
const DxView = (() => {
  const { el, fmtTime, fmtDuration, when, parse, pretty, payload } = Dx;

  const COMPLETES = {
    ActivityScheduled: ["ActivityCompleted", "ActivityFailed"],
    TimerCreated: ["TimerFired"],
    SubOrchestrationScheduled: ["SubOrchestrationCompleted", "SubOrchestrationFailed"],
  };
  const KIND_CLASS = { ActivityScheduled: "activity", TimerCreated: "timer",
                       SubOrchestrationScheduled: "suborchestration" };

  // ---- tracebacks ---------------------------------------------------------------------------

  const ENGINE_NOTE = "-- duroxide's own frames --";
  // The lines that frame a failed activity's traceback inside an orchestration's error
  // (duroxide._common.ACTIVITY_TRACEBACK_NOTE / ORCHESTRATION_TRACEBACK_NOTE).
  const ACTIVITY_NOTE = "The failed activity's traceback (root cause first):";
  const ORCHESTRATION_NOTE = "The orchestration did not catch the activity's failure:";
  const STANDARD = "Traceback (most recent call last):";
  // A frame in the duroxide package itself (an installed package or a source checkout).
  const ENGINE_FILE = /[\\/](site-packages|dist-packages|python)[\\/]duroxide[\\/]/;
  const FRAME = /^\s*File "([^"]*)", line \d+/;

  // Text already root cause first (duroxide.worker.tracebacks): the lines under each engine
  // note are duroxide's own frames.
  function pullEngine(lines) {
    const rest = [], engine = [];
    let inside = false;
    for (const line of lines) {
      if (line.trim() === ENGINE_NOTE) inside = true;
      else if (inside && line.startsWith("  ")) engine.push(line);
      else { inside = false; rest.push(line); }
    }
    return { rest, engine };
  }

  // A standard Python traceback as [exception lines, user frames innermost first] and the
  // engine frames; caret lines (^^^^) dropped.
  function orderStandard(lines) {
    const start = lines.findIndex((l) => l.startsWith(STANDARD));
    const frames = [];
    let i = start + 1;
    for (; i < lines.length && lines[i].startsWith("  "); i++) {
      if (FRAME.test(lines[i])) frames.push({ file: lines[i].match(FRAME)[1], lines: [lines[i]] });
      else if (frames.length && !/^\s*[\^~]+\s*$/.test(lines[i])) frames[frames.length - 1].lines.push(lines[i]);
    }
    const before = lines.slice(0, start).filter((l) => l.trim());
    const exception = lines.slice(i).filter((l) => l.trim());
    return { before, exception,
             user: frames.filter((f) => !ENGINE_FILE.test(f.file)).reverse().flatMap((f) => f.lines),
             engine: frames.filter((f) => ENGINE_FILE.test(f.file)).reverse().flatMap((f) => f.lines) };
  }

  // Any error text as {head, engine}: the exception first, then the user's frames innermost
  // first (and a failed activity's own traceback, when the orchestration's error carries it),
  // duroxide's frames apart; null for text that holds no traceback.
  function splitTraceback(text) {
    const lines = String(text).replace(/\s+$/, "").split("\n");
    const at = lines.indexOf(STANDARD);
    if (lines[0] === ACTIVITY_NOTE && at > 0) {
      const activity = pullEngine(lines.slice(1, at).filter((l) => l && l !== ORCHESTRATION_NOTE));
      const outer = orderStandard(lines.slice(at));
      return { head: [...outer.exception, "", ACTIVITY_NOTE, ...activity.rest,
                      ...(outer.user.length ? [ORCHESTRATION_NOTE, ...outer.user] : [])],
               engine: [...activity.engine, ...outer.engine] };
    }
    if (lines.some((l) => l.startsWith(STANDARD))) {
      const t = orderStandard(lines);
      return { head: [...t.before, ...t.exception, ...t.user], engine: t.engine };
    }
    if (lines.some((l) => l.trim() === ENGINE_NOTE)) {
      const t = pullEngine(lines);
      return { head: t.rest, engine: t.engine };
    }
    return null;
  }

  function traceback(text, testid) {
    const parts = splitTraceback(text);
    if (!parts) return el("pre", { class: "err", "data-testid": testid }, text);
    return el("div", { "data-testid": testid },
      el("pre", { class: "err" }, parts.head.join("\n")),
      parts.engine.length ? el("details", { class: "tb-engine", "data-testid": "engine-frames" },
        el("summary", {}, `duroxide's own frames (${parts.engine.filter((l) => FRAME.test(l)).length})`),
        el("pre", {}, parts.engine.join("\n"))) : null);
  }

  // The message and traceback inside an error payload ({"Application": {"message", ...}}, a
  // Python repr of it, or plain text).
  function errorParts(raw) {
    const value = typeof raw === "string" ? parse(raw) : raw;
    const found = { message: null, traceback: null };
    const walk = (v) => {
      if (!v || typeof v !== "object") return;
      if (typeof v.message === "string" && found.message === null) found.message = v.message;
      if (typeof v.traceback === "string" && found.traceback === null) found.traceback = v.traceback;
      Object.values(v).forEach(walk);
    };
    walk(value);
    if (found.message === null && typeof value === "string") {
      const m = value.match(/'message':\s*(["'])(.*?)\1,\s*'retryable'/);
      found.message = m ? m[2] : value;
    }
    return found;
  }

  function errorView(raw, testid = "error-detail") {
    const { message, traceback: tb } = errorParts(raw);
    if (tb) return traceback(tb, testid);
    return traceback(message === null ? pretty(raw) : message, testid);
  }

  // ---- the timeline -------------------------------------------------------------------------

  // Bars: one per scheduled activity, timer or sub-orchestration, with their events.
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
      out.push({ key: e.event_id, kind: e.kind, label, name: data.name, input: data.input,
                 node: data.input && typeof data.input === "object" ? data.input.node : undefined,
                 start: e.timestamp_ms, end: done ? end.timestamp_ms : null, endEvent: done ? end : null,
                 fireAt: data.fireAtMs, failed: done && end.kind.endsWith("Failed"),
                 child: data.instance || null });
    }
    return out;
  }

  function timeline(events, opts) {
    if (!events.length) return [el("p", { class: "muted" }, "No history yet.")];
    const bars = spans(events);
    const t0 = events[0].timestamp_ms;
    const t1 = Math.max(events[events.length - 1].timestamp_ms, opts.running ? Date.now() : 0,
                        ...bars.map((b) => b.end || 0), t0 + 1);
    const pct = (t) => `${(100 * (t - t0)) / (t1 - t0)}%`;
    // An open bar is pending, unless the instance has ended (a timer is then cancelled, other
    // work not finished) or "Waiting on" reports the timer cancelled (it lost a race).
    const cancelled = opts.cancelledTimers || new Set();
    const openLabel = (b) => (b.kind === "TimerCreated" && (opts.ended || cancelled.has(b.key)) ? "cancelled"
      : opts.ended ? "not finished" : "pending");
    const rows = bars.map((b) => el("div", {
      class: `tl-row ${opts.selected === b.key ? "selected" : ""}`, "data-testid": "timeline-bar",
      dataset: { key: b.key }, title: "show its input, output and error", tabindex: 0, role: "button",
      onclick: (event) => { if (!event.target.closest("a")) opts.onSelect(b); },
      onkeydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); opts.onSelect(b); } } },
      el("span", { class: "tl-label" },
         b.child ? el("a", { href: `instance.html?id=${encodeURIComponent(b.child)}` }, b.label)
                 : b.label, el("span", { class: "muted" }, ` ${KIND_CLASS[b.kind]}`)),
      el("div", { class: "tl-track" }, el("div", {
        class: `tl-bar ${KIND_CLASS[b.kind]} ${b.failed ? "failed" : ""} ${b.end !== null ? ""
          : openLabel(b) === "pending" ? "open" : "stopped"}`,
        style: `left:${pct(b.start)};width:calc(${pct(b.end === null ? t1 : b.end)} - ${pct(b.start)})`,
        title: `${b.label}: ${fmtTime(b.start)} -> ${b.end === null ? openLabel(b) : fmtTime(b.end)}` })),
      el("span", { class: "tl-dur", "data-testid": "bar-state" }, b.end === null ? openLabel(b) : fmtDuration(b.end - b.start))));
    const axis = el("div", { class: "tl-axis" }, el("span", {}, ""),
      el("span", {}, el("span", {}, "0"), el("span", {}, fmtDuration((t1 - t0) / 2)),
         el("span", {}, fmtDuration(t1 - t0))), el("span", {}, ""));
    return [...(rows.length ? rows : [el("p", { class: "muted" },
      "No activities, timers or sub-orchestrations in this execution.")]), axis];
  }

  // ---- the detail panel ---------------------------------------------------------------------

  // facts: [label, value] pairs; blocks: [title, element] pairs.
  function detailPanel(title, facts, blocks, onClose) {
    return el("div", { class: "detail-panel", "data-testid": "detail" },
      el("h3", {}, title, el("button", { class: "dismiss", "data-testid": "close-detail",
                                         onclick: onClose }, "close")),
      el("dl", { class: "facts" }, facts.flatMap(([k, v]) => [el("dt", {}, k),
        el("dd", { "data-testid": `detail-${k.toLowerCase()}` }, v === null || v === undefined ? "-" : v)])),
      blocks.filter(([, v]) => v).map(([k, v]) => el("div", { class: "mt12" },
        el("h3", {}, k), v)));
  }

  function span(b) {
    return [["Scheduled", el("span", {}, when(b.start), ` (${fmtTime(b.start)})`)],
            ["Ended", b.end === null ? "not yet" : el("span", {}, when(b.end), ` (took ${fmtDuration(b.end - b.start)})`)]];
  }

  // What a timeline bar shows when clicked: `extra` adds what history does not record (the
  // worker and attempt of an activity in flight or of a graph node).
  function barDetail(b, extra, onClose) {
    const facts = [["Kind", KIND_CLASS[b.kind]], ["Name", b.name || b.label], ["Event", `#${b.key}`], ...span(b)];
    const blocks = [];
    if (b.kind === "TimerCreated") {
      facts.push(["Fires", b.fireAt ? el("span", {}, when(b.fireAt), ` (${fmtTime(b.fireAt)})`) : "-"]);
    } else {
      if (b.kind === "ActivityScheduled") {
        facts.push(["Worker", extra.worker || el("span", { class: "muted" }, "not recorded in history")]);
        facts.push(["Attempt", extra.attempt || el("span", { class: "muted" }, "not recorded in history")]);
      }
      if (extra.waitsFor) facts.push(["Waits for", extra.waitsFor]);
      if (b.child) facts.push(["Instance", Dx.instanceLink(b.child)]);
      blocks.push(["Input", payload(b.input === undefined ? null : JSON.stringify(b.input), true)]);
      if (b.endEvent && !b.failed) blocks.push(["Output", payload(b.endEvent.data, true)]);
      if (b.failed) blocks.push(["Error", errorView(b.endEvent.data)]);
      if (extra.lastError) blocks.push(["Last error", errorView(extra.lastError)]);
    }
    return detailPanel(b.label, facts, blocks, onClose);
  }

  // ---- the history table --------------------------------------------------------------------

  function history(events) {
    if (!events.length) return el("p", { class: "muted" }, "No history yet.");
    const t0 = events[0].timestamp_ms;
    return el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, ["id", "kind", "source", "time", "data"].map((h) => el("th", {}, h)))),
      el("tbody", {}, events.map((e) => {
        const raw = e.data !== null ? e.data : rawFields(e.raw);
        const failed = /Failed$/.test(e.kind);
        return el("tr", { "data-testid": "event-row" },
          el("td", {}, e.event_id), el("td", { class: "nowrap" }, e.kind),
          el("td", {}, e.source_event_id === null ? "-" : e.source_event_id),
          el("td", { class: "nowrap", title: fmtTime(e.timestamp_ms) }, `+${fmtDuration(e.timestamp_ms - t0)}`),
          el("td", { class: "data-cell" }, failed && raw ? errorCell(raw) : payload(raw)));
      })));
  }

  function errorCell(raw) {
    const { message } = errorParts(raw);
    const first = String(message || "").trim().split("\n").pop();
    return el("details", { class: "payload", "data-testid": "payload" },
      el("summary", {}, el("code", { class: "err-cell" }, first || "error")), errorView(raw));
  }

  // The stored JSON of an event whose `data` is null (custom status, KV sets), minus the
  // fields every event has.
  function rawFields(raw) {
    if (!raw) return null;
    const value = parse(raw);
    if (!value || typeof value !== "object") return null;
    const rest = Object.fromEntries(Object.entries(value).filter(([k]) =>
      !["event_id", "timestamp_ms", "type", "source_event_id"].includes(k)));
    return Object.keys(rest).length ? JSON.stringify(rest) : null;
  }

  return { spans, timeline, barDetail, detailPanel, history, traceback, errorView, errorParts,
           splitTraceback, KIND_CLASS };
})();
