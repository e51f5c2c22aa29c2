// Shared helpers of the duroxide dashboard. The dashboard is a client of the public REST API
// (/v1) like any other: every figure on a page comes from an API response.
"use strict";

const Dx = (() => {
  const TOKEN_KEY = "duroxide.token";

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && problem.detail) || `HTTP ${status}`);
      this.status = status;
      this.problem = problem || {};
    }
  }

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  async function api(path, options = {}) {
    const headers = { Accept: "application/json" };
    if (token()) headers.Authorization = `Bearer ${token()}`;
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    // Relative to the page, so the dashboard also works behind a proxy under a sub-path.
    const response = await fetch(path.replace(/^\//, ""), {
      method: options.method || "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      if (response.status === 401 || response.status === 403) showTokenForm(data);
      throw new ApiError(response.status, data);
    }
    return data;
  }

  // An id (instance id, worker, topic, KV key) as one URL path segment: every byte of its UTF-8
  // form outside A-Z a-z 0-9 - _ . written ~XX, and an id of dots only escaped entirely, so
  // that no browser or proxy splits, normalizes or decodes it (docs/server.md, "Ids in URLs";
  // the same rule as duroxide._common.quote_id).
  const SAFE = /[A-Za-z0-9\-_.]/;
  function idPath(id) {
    const bytes = new TextEncoder().encode(String(id));
    const dotsOnly = /^\.*$/.test(String(id));
    let out = "";
    for (const b of bytes) {
      const ch = String.fromCharCode(b);
      out += b < 128 && SAFE.test(ch) && !dotsOnly
        ? ch : "~" + b.toString(16).toUpperCase().padStart(2, "0");
    }
    return out;
  }

  // An endpoint that a feature adds (workers, topics, graphs): null when this server lacks it.
  async function optional(path) {
    try {
      return await api(path);
    } catch (err) {
      if (err.status === 404 || err.status === 405) return null;
      throw err;
    }
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      // Through the CSSOM: the Content-Security-Policy refuses style attributes.
      else if (key === "style") node.style.cssText = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fmtTime(ms) {
    if (!ms) return "-";
    return new Date(ms).toISOString().replace("T", " ").replace("Z", "Z");
  }

  function fmtDuration(ms) {
    if (ms === null || ms === undefined) return "-";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
    const minutes = Math.floor(ms / 60000);
    if (minutes < 60) return `${minutes} min ${Math.round((ms % 60000) / 1000)} s`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return `${hours} h ${minutes % 60} min`;
    return `${Math.floor(hours / 24)} d ${hours % 24} h`;
  }

  // "3 min ago" / "in 2 h 5 min": a span to or from now, coarse enough to read at a glance.
  function fmtRelative(ms, now = Date.now()) {
    if (!ms) return "-";
    const delta = ms - now;
    const span = Math.abs(delta);
    if (span < 1000) return "just now";
    let text;
    if (span < 60000) text = `${Math.round(span / 1000)} s`;
    else if (span < 3600000) text = `${Math.floor(span / 60000)} min`;
    else if (span < 172800000) {
      const h = Math.floor(span / 3600000), m = Math.floor((span % 3600000) / 60000);
      text = m ? `${h} h ${m} min` : `${h} h`;
    } else text = `${Math.floor(span / 86400000)} d`;
    return delta > 0 ? `in ${text}` : `${text} ago`;
  }

  // A time as people read it: relative, on one line, with the absolute UTC time on hover.
  function when(ms, extra) {
    if (!ms) return el("span", { class: "muted" }, "-");
    return el("time", { class: "when", datetime: new Date(ms).toISOString(),
                        title: fmtTime(ms) }, fmtRelative(ms), extra ? ` ${extra}` : "");
  }

  // The status as the CLI shows it (duroxide.cli.operations.shown_status): a cooperative
  // cancel is stored and reported as Failed "canceled: ...", shown as Canceled.
  function shownStatus(status, error) {
    if (status === "Failed" && typeof error === "string" && error.startsWith("canceled: ")) {
      return "Canceled";
    }
    return status;
  }

  function badge(status, error) {
    const shown = shownStatus(status, error);
    return el("span", { class: `badge status-${String(shown).toLowerCase()}`,
                        "data-testid": "status" }, shown);
  }

  function instanceLink(id) {
    return el("a", { href: `instance.html?id=${encodeURIComponent(id)}`, class: "mono",
                     "data-testid": "instance-link" }, id);
  }

  function pretty(raw) {
    if (raw === null || raw === undefined) return "null";
    if (typeof raw !== "string") return render(raw, "");
    try { return render(JSON.parse(raw), ""); } catch (_) { return raw; }
  }

  // JSON for people: indented, and a string holding line breaks (a traceback, a log) written
  // as its lines rather than one line of "\n" escapes.
  function render(value, indent) {
    const inner = indent + "  ";
    if (typeof value === "string") {
      if (!value.includes("\n")) return JSON.stringify(value);
      return "\"\"\"\n" + value.replace(/\n$/, "").split("\n").map((l) => inner + l).join("\n") +
        "\n" + indent + "\"\"\"";
    }
    if (Array.isArray(value)) {
      if (!value.length) return "[]";
      return "[\n" + value.map((v) => inner + render(v, inner)).join(",\n") + "\n" + indent + "]";
    }
    if (value && typeof value === "object") {
      const entries = Object.entries(value);
      if (!entries.length) return "{}";
      return "{\n" + entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${render(v, inner)}`)
        .join(",\n") + "\n" + indent + "}";
    }
    return JSON.stringify(value);
  }

  function parse(raw) {
    if (raw === null || raw === undefined) return null;
    try { return JSON.parse(raw); } catch (_) { return raw; }
  }

  // A payload in a table cell: short ones inline, longer ones as a one-line summary that
  // expands to the pretty-printed value.
  function payload(raw, open) {
    if (raw === null || raw === undefined || raw === "") return el("span", { class: "muted" }, "-");
    const text = pretty(raw);
    if (open) return el("pre", { "data-testid": "payload" }, text);
    const oneLine = text.replace(/\s+/g, " ");
    if (!text.includes("\n") && text.length <= 90) return el("code", { class: "payload" }, text);
    return el("details", { class: "payload", open, "data-testid": "payload" },
      el("summary", {}, el("code", {}, oneLine.length > 90 ? oneLine.slice(0, 90) + "…" : oneLine)),
      el("pre", {}, text));
  }

  const LABELS = { instance_id: "instance", orchestration_name: "name",
                   orchestration_version: "version", current_execution_id: "execution",
                   created_at: "created", updated_at: "updated",
                   parent_instance_id: "parent", source_event_id: "source",
                   timestamp_ms: "time (UTC)", event_id: "id", waiting_since_ms: "waiting since",
                   created_at_ms: "created", limit_key: "key" };

  // A table from a list of objects: the columns are the union of their keys.
  function table(rows, columns, render) {
    if (!rows.length) return el("p", { class: "muted" }, "Nothing here.");
    columns = columns || [...new Set(rows.flatMap((row) => Object.keys(row)))];
    return el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", {}, LABELS[c] || c.replace(/_/g, " "))))),
      el("tbody", {}, rows.map((row) => el("tr", {}, columns.map((c) => {
        const custom = render && render(c, row[c], row);
        if (custom !== undefined) return el("td", {}, custom);
        const v = row[c];
        const text = v !== null && typeof v === "object" ? JSON.stringify(v) : v;
        return el("td", {}, /(_at|_at_ms|heartbeat_ms)$/.test(c) && typeof v === "number"
          ? when(v) : text === undefined || text === null ? "-" : text);
      })))));
  }

  function message(err) {
    return err instanceof ApiError ? err.message : err instanceof Error ? err.message : String(err);
  }

  // An error the user caused (an action, a form): it stays until dismissed, whatever the
  // auto-refresh does.
  function showError(container, err) {
    const box = el("div", { class: "error", "data-testid": "error" },
      el("span", {}, message(err)),
      el("button", { class: "dismiss", title: "dismiss", "aria-label": "dismiss",
                     onclick: () => box.remove() }, "×"));
    container.append(box);
  }

  // The outcome of one auto-refresh: a failure is shown in its own slot (replaced by the next
  // failure, removed by the next success), never over an error shown by showError.
  function refreshFailed(container, err) {
    let slot = container.querySelector(".refresh-error");
    if (!slot) {
      slot = el("div", { class: "error refresh-error", "data-testid": "error" });
      container.prepend(slot);
    }
    slot.textContent = `refresh failed: ${message(err)}`;
  }

  function refreshOk(container) {
    const slot = container.querySelector(".refresh-error");
    if (slot) slot.remove();
  }

  function showTokenForm(problem) {
    if (document.getElementById("token-form")) return;
    const input = el("input", { type: "password", placeholder: "bearer token",
                                id: "token-input", autocomplete: "off" });
    const form = el("form", { id: "token-form", class: "token-form", onsubmit: (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      location.reload();
    } }, el("strong", {}, "This server needs a token. "),
      el("span", { class: "muted" }, problem && problem.detail ? `(${problem.detail}) ` : ""),
      input, el("button", { type: "submit" }, "Use token"));
    document.body.prepend(form);
  }

  const PAGES = [
    ["index.html", "Instances"], ["workers.html", "Workers"], ["schedules.html", "Schedules"],
    ["messaging.html", "Messaging"], ["limits.html", "Limits"], ["metrics.html", "Metrics"],
  ];

  function header(active) {
    const nav = el("nav", {}, PAGES.map(([href, label]) =>
      el("a", { href, class: href === active ? "active" : "" }, label)));
    const right = el("span", { class: "right" },
      el("a", { href: "docs", target: "_blank" }, "API docs"),
      token() ? el("button", { class: "link", onclick: () => {
        sessionStorage.removeItem(TOKEN_KEY); location.reload(); } }, "Forget token") : null);
    document.body.prepend(el("header", {}, el("a", { href: "index.html", class: "brand" },
                                              "duroxide"), nav, right));
  }

  // Calls `fn` now and every `ms` while the checkbox (if any) is checked. `?refresh=S` in the
  // page's URL sets another period (seconds, at least 0.2).
  function autoRefresh(fn, ms, checkbox) {
    const asked = Number(new URLSearchParams(location.search).get("refresh"));
    if (Number.isFinite(asked) && asked >= 0.2) ms = asked * 1000;
    let timer = null;
    const tick = async () => {
      try { await fn(); } finally {
        if (!checkbox || checkbox.checked) timer = setTimeout(tick, ms);
      }
    };
    if (checkbox) checkbox.addEventListener("change", () => {
      clearTimeout(timer);
      if (checkbox.checked) tick();
    });
    tick();
  }

  function query(name) { return new URLSearchParams(location.search).get(name); }

  return { api, optional, el, fmtTime, fmtDuration, fmtRelative, when, badge, shownStatus,
           instanceLink, pretty, parse, payload, table, showError, refreshFailed, refreshOk,
           message, header, autoRefresh, query, idPath, ApiError };
})();
