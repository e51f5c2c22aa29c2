// The instances page: counts per status, filters (status, name, id, creation time, top-level
// only), paging that auto-refresh keeps, and the error of failed instances.
"use strict";
(() => {
  const { api, el, when, badge, instanceLink, table, showError } = Dx;
  Dx.header("index.html");
  const $ = (id) => document.getElementById(id);
  // Rows per page: 50, or ?limit=N (1-1000) in the page's URL.
  const PAGE = Math.min(1000, Math.max(1, Number(new URLSearchParams(location.search).get("limit")) || 50));
  const params = new URLSearchParams(location.search);
  $("status").value = params.get("status") || "";
  $("name").value = params.get("name") || "";
  $("search").value = params.get("q") || "";
  $("range").value = params.get("range") || "";
  $("from").value = params.get("from") || "";
  $("to").value = params.get("to") || "";
  $("top-level").checked = params.get("top_level") === "true";
  $("custom-range").hidden = $("range").value !== "custom";
  let items = [];
  let cursor = null;
  // How many rows the user asked to see: "Load more" raises it, a filter change resets it, and
  // an auto-refresh reloads that many (so it never takes loaded pages away).
  let wanted = PAGE;

  function localMs(value) {
    const ms = value ? new Date(value).getTime() : NaN;
    return Number.isFinite(ms) && ms >= 0 ? String(ms) : null;
  }

  function filters() {
    const f = {};
    if ($("status").value) f.status = $("status").value;
    if ($("name").value.trim()) f.name = $("name").value.trim();
    if ($("search").value.trim()) f.q = $("search").value.trim();
    const range = $("range").value;
    if (range === "custom") {
      if (localMs($("from").value)) f.created_after = localMs($("from").value);
      if (localMs($("to").value)) f.created_before = localMs($("to").value);
    } else if (range) {
      f.created_after = String(Math.max(0, Date.now() - Number(range)));
    }
    if ($("top-level").checked) f.top_level = "true";
    return f;
  }

  async function loadCounts() {
    const m = await api("/v1/metrics");
    const s = m.system;
    const entries = [["", "All", s.total_instances], ["Running", "Running", s.running_instances],
                     ["Completed", "Completed", s.completed_instances],
                     ["Failed", "Failed", s.failed_instances]];
    $("counts").replaceChildren(...entries.map(([status, label, n]) => el("button", {
      class: `count ${label.toLowerCase()} ${$("status").value === status ? "selected" : ""}`,
      "data-testid": `count-${label.toLowerCase()}`,
      onclick: () => { $("status").value = status; reload(); },
    }, el("span", { class: "n" }, n), label)));
  }

  // The last line of a Python traceback ("ValueError: card declined"), or the error itself.
  function errorLine(error) {
    if (!error) return "";
    const lines = String(error).trim().split("\n").map((l) => l.trim()).filter(Boolean);
    // A traceback (possibly after a failed activity's own): its exception is the last line.
    const line = lines.some((l) => l.startsWith("Traceback (most recent call last)"))
      ? lines[lines.length - 1] : lines[0] || "";
    return line.replace(/^duroxide\.errors\./, "");
  }

  function render() {
    const failing = items.some((i) => i.error);
    const columns = ["instance_id", "orchestration_name", "status", "created_at", "updated_at",
                     "parent_instance_id"];
    if (failing) columns.splice(3, 0, "error");
    $("list").replaceChildren(table(items, columns, (column, value, row) => {
      if (column === "instance_id") return instanceLink(value);
      if (column === "orchestration_name") {
        return el("span", { class: "name-cell" }, value, el("span", { class: "muted" }, ` ${row.orchestration_version}`),
          row.current_execution_id > 1 ? el("span", { class: "muted" }, ` #${row.current_execution_id}`) : null);
      }
      if (column === "status") return badge(row.shown_status || value);
      if (column === "error") {
        const line = errorLine(value);
        return line ? el("span", { class: "err-cell", title: value, "data-testid": "error-cell" }, line) : "";
      }
      if (column === "parent_instance_id") return value ? instanceLink(value) : "-";
      if (column === "updated_at" && row.status !== "Running") {
        return when(value, `(took ${Dx.fmtDuration(value - row.created_at)})`);
      }
      if (column.endsWith("_at")) return when(value);
      return undefined;
    }));
    $("more").hidden = !cursor;
    $("shown-count").textContent = items.length ? `${items.length} shown` : "";
  }

  async function fetchPage(after, limit) {
    const f = { ...filters(), limit: String(Math.min(1000, limit)), shown_status: "true" };
    if (after) f.cursor = after;
    return api(`/v1/instances?${new URLSearchParams(f)}`);
  }

  // The first `wanted` rows (following cursors as long as pages come back short).
  async function load() {
    let rows = [];
    let next = null;
    do {
      const page = await fetchPage(next, wanted - rows.length);
      rows = rows.concat(page.items);
      next = page.next_cursor;
    } while (next && rows.length < wanted);
    items = rows;
    cursor = next;
    render();
  }

  async function more() {
    try {
      const page = await fetchPage(cursor, PAGE);
      items = items.concat(page.items);
      cursor = page.next_cursor;
      wanted = Math.max(wanted, items.length);
      render();
    } catch (err) { showError($("error"), err); }
  }

  async function refresh() {
    try {
      await Promise.all([loadCounts(), load()]);
      Dx.refreshOk($("error"));
      $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) { Dx.refreshFailed($("error"), err); }
  }

  function reload() {
    const f = filters();
    delete f.created_after;
    delete f.created_before;
    if ($("range").value) f.range = $("range").value;
    if ($("range").value === "custom") { f.from = $("from").value; f.to = $("to").value; }
    for (const keep of ["limit", "refresh"]) if (params.get(keep)) f[keep] = params.get(keep);
    history.replaceState(null, "", `?${new URLSearchParams(f)}`);
    wanted = PAGE;
    refresh();
  }

  let typing = null;
  for (const id of ["name", "search"]) {
    $(id).addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(reload, 300); });
  }
  for (const id of ["status", "top-level", "from", "to"]) $(id).addEventListener("change", reload);
  $("range").addEventListener("change", () => {
    $("custom-range").hidden = $("range").value !== "custom";
    reload();
  });
  $("more").addEventListener("click", more);
  Dx.autoRefresh(refresh, 5000, $("auto"));
})();
