// Operating one instance (docs/operations.md): the "Waiting on" panel (GET .../pending) and
// the actions: suspend, resume, terminate, rerun (with its verification), cancel, delete and
// raise an event (warning when nothing waits for that name).
"use strict";
const DxOps = (() => {
  const { api, el, when, fmtTime, instanceLink } = Dx;
  const ENDED = ["Completed", "Failed", "Terminated", "Canceled", "ContinuedAsNew"];

  function group(title, items, line) {
    if (!items || !items.length) return null;
    return el("div", { class: "pending-group", "data-testid": `pending-${title.toLowerCase().replace(/[^a-z]+/g, "-")}` },
      el("h3", {}, title), el("ul", {}, items.map((i) => el("li", {}, line(i)))));
  }

  function activityLine(a, workerName) {
    return el("span", {}, el("strong", {}, a.name), ` #${a.activity_id} `,
      Dx.badge(a.state), a.attempt ? ` attempt ${a.attempt}` : "",
      a.worker ? ` on ${workerName ? workerName(a.worker) : a.worker}` : "", a.since_ms ? el("span", { class: "muted" }, " since ", when(a.since_ms)) : "",
      // Held back by its named limit now (listed by /v1/waiting-activities): say which and why;
      // otherwise what get_pending says it waits for.
      a.waits_for && !a.limit_reason ? el("span", { class: "muted", "data-testid": "waits-for" }, ` — waits for ${a.waits_for}`) : "",
      a.limit_reason ? el("span", { class: "limit-wait", "data-testid": "waits-for-limit" }, " — waits for limit ",
        el("a", { href: "limits.html", class: "mono" }, a.limit), a.limit_key ? ` (key ${a.limit_key})` : "",
        a.limit_reason === "undefined_limit" ? ", which is not defined" : ", which is full") : "",
      a.last_error ? el("div", { class: "err-cell", title: a.last_error }, `last error: ${a.last_error}`) : "");
  }

  function pendingView(p, status, workerName) {
    if (!p) return el("p", { class: "muted" }, "This server cannot tell what an instance waits on.");
    const groups = [
      group("Activities", p.activities, (a) => activityLine(a, workerName)),
      group("Timers", p.timers, (t) => el("span", {}, `timer #${t.timer_id} `, Dx.badge(t.state),
        t.state === "cancelled" ? el("span", { class: "muted" }, " no longer waited for (was due ", when(t.fire_at_ms), ")")
          : el("span", {}, " fires ", when(t.fire_at_ms), el("span", { class: "muted" }, ` (${fmtTime(t.fire_at_ms)})`)))),
      group("Events", p.events, (e) => el("span", {}, "event ", el("strong", { class: "mono" }, e.name),
        e.since_ms ? el("span", { class: "muted" }, " since ", when(e.since_ms)) : "")),
      group("Queues", p.queues, (q) => el("span", {}, "queue ", el("strong", { class: "mono" }, q.name),
        q.buffered ? ` (${q.buffered} buffered)` : "", q.since_ms ? el("span", { class: "muted" }, " since ", when(q.since_ms)) : "")),
      group("Requests", p.requests, (r) => el("span", {}, `request ${r.operation} to `,
        r.target ? el("span", { class: "mono" }, r.target) : "-", r.since_ms ? el("span", { class: "muted" }, " since ", when(r.since_ms)) : "")),
      group("Sub-orchestrations", p.sub_orchestrations, (s) => el("span", {}, instanceLink(s.instance_id),
        ` ${s.name || ""}`, s.since_ms ? el("span", { class: "muted" }, " since ", when(s.since_ms)) : "")),
    ].filter(Boolean);
    if (status === "Pending") {
      groups.unshift(el("p", { "data-testid": "pending-start" }, "Its start is queued: no runtime has taken it yet",
        p.unservable ? el("span", { class: "limit-wait" }, ` (${p.unservable})`) : "", "."));
    }
    const buffered = Object.entries(p.buffered || {}).filter(([, n]) => n);
    if (buffered.length) {
      groups.push(el("p", { class: "muted", "data-testid": "pending-buffered" }, "Messages in its queue: ",
        buffered.map(([k, n]) => `${n} ${k}`).join(", ")));
    }
    if (!groups.length) {
      return el("p", { class: "muted" }, ENDED.includes(status) ? "Nothing: the instance has ended."
        : "Nothing it waits on right now (its next turn may be about to run).");
    }
    return el("div", {}, groups);
  }

  // ---- actions --------------------------------------------------------------------------------

  function result(kind, ...children) {
    return el("div", { class: kind, "data-testid": `action-${kind}` }, ...children);
  }

  // After a rerun: wait for the new instance's first turn, which replays the copied prefix
  // against the code that runs now, and say whether it followed.
  async function verifyRerun(newId, report) {
    const path = `/v1/instances/${Dx.idPath(newId)}`;
    const deadline = Date.now() + 15000;
    report(result("notice", "Rerun started as ", instanceLink(newId), ": verifying the copied history…"));
    while (Date.now() < deadline) {
      const detail = await api(path);
      if (detail.status === "Suspended") {
        report(result("error", el("span", {}, el("strong", {}, "Verification failed: "), "the current code does not ",
          "replay the copied history, so ", instanceLink(newId), " is suspended and nothing after the prefix ran.",
          el("pre", { class: "err", "data-testid": "rerun-report" }, detail.error || ""))));
        return;
      }
      if (detail.status !== "Pending") {
        const events = await api(`${path}/executions/1/history`);
        const marker = events.findIndex((e) => e.kind === "ExternalEvent" &&
          (Dx.parse(e.data) || {}).name === "__duroxide_rerun__");
        if (marker < 0 && events.length > 1) {
          report(result("ok", "Rerun ", instanceLink(newId), " started afresh with the same input (nothing copied, nothing to verify)."));
          return;
        }
        if ((marker >= 0 && events.length > marker + 1) || ENDED.includes(detail.status)) {
          report(result("ok", el("strong", {}, "Verified: "), `the current code replays the ${marker} copied events; `,
            instanceLink(newId), ` continues (${detail.status}).`));
          return;
        }
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    report(result("notice", "Rerun ", instanceLink(newId), " has not taken its first turn yet: is a runtime running?"));
  }

  function buttons(detail, ctx) {
    const shown = Dx.shownStatus(detail.status, detail.error);
    const running = detail.status === "Running" || detail.status === "Pending";
    const suspended = detail.status === "Suspended";
    const ended = ENDED.includes(shown);
    const b = (id, label, cls, enabled, onclick, title) => el("button", { id, class: cls, disabled: !enabled,
      title, "data-testid": id, onclick }, label);
    return [
      suspended ? b("resume", "Resume", "primary", true, ctx.resume, "continue a suspended instance")
        : b("suspend", "Suspend", "", running, ctx.suspend, "no new turn or activity starts; events keep arriving"),
      b("terminate", "Terminate", "danger", running || suspended, ctx.terminate, "end it now without running its code"),
      b("cancel", "Cancel", "danger", running, ctx.cancel, "cooperative cancel: ends Canceled"),
      b("rerun", "Rerun", "", ended, ctx.rerun, "a new instance from the failed step, under the current code"),
      el("input", { id: "rerun-from", type: "number", min: 1, placeholder: "from event", disabled: !ended,
                    "aria-label": "rerun from event id", class: "narrow" }),
      b("delete", "Delete", "danger", true, ctx.remove, "delete it and its sub-orchestrations"),
      el("label", {}, el("input", { type: "checkbox", id: "force" }), " force"),
    ];
  }

  return { pendingView, buttons, verifyRerun, result, ENDED };
})();
