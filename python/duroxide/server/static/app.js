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
    return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  function badge(status) {
    return el("span", { class: `badge status-${String(status).toLowerCase()}`,
                        "data-testid": "status" }, status);
  }

  function instanceLink(id) {
    return el("a", { href: `instance.html?id=${encodeURIComponent(id)}`, class: "mono",
                     "data-testid": "instance-link" }, id);
  }

  function pretty(raw) {
    if (raw === null || raw === undefined) return "null";
    if (typeof raw !== "string") return JSON.stringify(raw, null, 2);
    try { return JSON.stringify(JSON.parse(raw), null, 2); } catch (_) { return raw; }
  }

  function parse(raw) {
    if (raw === null || raw === undefined) return null;
    try { return JSON.parse(raw); } catch (_) { return raw; }
  }

  const LABELS = { instance_id: "instance", orchestration_name: "name",
                   orchestration_version: "version", current_execution_id: "execution",
                   created_at: "created (UTC)", updated_at: "updated (UTC)",
                   parent_instance_id: "parent", source_event_id: "source",
                   timestamp_ms: "time (UTC)", event_id: "id" };

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
        return el("td", {}, /(_at|_ms|heartbeat)$/.test(c) && typeof v === "number"
          ? fmtTime(v) : text === undefined || text === null ? "-" : text);
      })))));
  }

  function showError(container, err) {
    container.replaceChildren(el("div", { class: "error", "data-testid": "error" },
                                 err instanceof ApiError ? err.message : String(err)));
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
    ["messaging.html", "Topics & dead letters"], ["metrics.html", "Metrics"],
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

  // Calls `fn` now and every `ms` while the checkbox (if any) is checked.
  function autoRefresh(fn, ms, checkbox) {
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

  return { api, optional, el, fmtTime, fmtDuration, badge, instanceLink, pretty, parse, table,
           showError, header, autoRefresh, query, idPath, ApiError };
})();
