// Store-wide counts and queue depths over time (GET /v1/metrics and /v1/metrics/history).
"use strict";
(() => {
  const { api, el, fmtTime, showError } = Dx;
  Dx.header("metrics.html");
  const $ = (id) => document.getElementById(id);
  const NS = "http://www.w3.org/2000/svg";

  function chart(samples, series) {
    const W = 560, H = 170, P = 28;
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("class", "chart");
    const add = (tag, attrs, text) => {
      const n = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
      if (text !== undefined) n.textContent = text;
      svg.append(n);
    };
    const max = Math.max(1, ...samples.flatMap((s) => series.map(([, get]) => get(s))));
    const x = (i) => P + (samples.length < 2 ? 0 : (i * (W - 2 * P)) / (samples.length - 1));
    const y = (v) => H - P - (v * (H - 2 * P)) / max;
    add("line", { x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: "#d5d9e2" });
    add("text", { x: 2, y: P, "font-size": 11, fill: "#6b7385" }, String(max));
    add("text", { x: 2, y: H - P, "font-size": 11, fill: "#6b7385" }, "0");
    if (samples.length) {
      add("text", { x: P, y: H - 8, "font-size": 11, fill: "#6b7385" },
          fmtTime(samples[0].timestamp_ms).slice(11, 19));
      add("text", { x: W - P - 50, y: H - 8, "font-size": 11, fill: "#6b7385" },
          fmtTime(samples[samples.length - 1].timestamp_ms).slice(11, 19));
    }
    for (const [, get, color] of series) {
      add("polyline", { fill: "none", stroke: color, "stroke-width": 2,
                        points: samples.map((s, i) => `${x(i)},${y(get(s))}`).join(" ") });
    }
    const legend = el("div", { class: "legend" }, series.map(([label, get, color]) =>
      el("span", {}, el("i", { style: `background:${color}` }),
         `${label}: ${samples.length ? get(samples[samples.length - 1]) : "-"}`)));
    return el("div", {}, svg, legend);
  }

  async function refresh() {
    try {
      const [now, hist] = await Promise.all([api("/v1/metrics"), api("/v1/metrics/history")]);
      const cells = [["Instances", now.system.total_instances], ["Running", now.system.running_instances],
        ["Completed", now.system.completed_instances], ["Failed", now.system.failed_instances],
        ["Events stored", now.system.total_events], ["Orchestrator queue", now.queues.orchestrator_queue],
        ["Worker queue", now.queues.worker_queue], ["Timers", now.queues.timer_queue],
        ["Open long-polls", now.server.active_waits]];
      $("now").replaceChildren(...cells.map(([label, n]) => el("div", {
        class: `count ${label.toLowerCase()}`, "data-testid": `metric-${label.toLowerCase().replace(/ /g, "-")}` },
        el("span", { class: "n" }, n), label)));
      const samples = hist.samples.concat([{ timestamp_ms: now.timestamp_ms, system: now.system, queues: now.queues }]);
      $("chart-instances").replaceChildren(chart(samples, [
        ["running", (s) => s.system.running_instances, "#2f7de1"],
        ["completed", (s) => s.system.completed_instances, "#23a26d"],
        ["failed", (s) => s.system.failed_instances, "#d64545"]]));
      $("chart-queues").replaceChildren(chart(samples, [
        ["orchestrator", (s) => s.queues.orchestrator_queue, "#8a5cd6"],
        ["worker", (s) => s.queues.worker_queue, "#e08a1e"],
        ["timer", (s) => s.queues.timer_queue, "#6b7385"]]));
      $("history-note").textContent = `One sample every ${hist.interval_ms / 1000} s, kept by this server process (${hist.samples.length} so far).`;
      Dx.refreshOk($("error"));
    } catch (err) { Dx.refreshFailed($("error"), err); }
  }
  Dx.autoRefresh(refresh, 5000, $("auto"));
})();
