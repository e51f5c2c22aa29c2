// The instances page: counts per status, filters, id search, paging, auto-refresh.
"use strict";
(() => {
  const { api, el, fmtTime, badge, instanceLink, table, showError } = Dx;
  Dx.header("index.html");
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  $("status").value = params.get("status") || "";
  $("name").value = params.get("name") || "";
  $("search").value = params.get("q") || "";
  let items = [];
  let cursor = null;

  function filters() {
    const f = { limit: "50" };
    if ($("status").value) f.status = $("status").value;
    if ($("name").value.trim()) f.name = $("name").value.trim();
    if ($("search").value.trim()) f.q = $("search").value.trim();
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

  function render() {
    $("list").replaceChildren(table(items, ["instance_id", "orchestration_name",
      "orchestration_version", "status", "current_execution_id", "created_at", "updated_at",
      "parent_instance_id"], (column, value) => {
      if (column === "instance_id") return instanceLink(value);
      if (column === "status") return badge(value);
      if (column === "parent_instance_id") return value ? instanceLink(value) : "-";
      if (column.endsWith("_at")) return fmtTime(value);
      return undefined;
    }));
    $("more").hidden = !cursor;
  }

  async function load(append) {
    const f = filters();
    if (append && cursor) f.cursor = cursor;
    const page = await api(`/v1/instances?${new URLSearchParams(f)}`);
    items = append ? items.concat(page.items) : page.items;
    cursor = page.next_cursor;
    render();
  }

  async function refresh() {
    try {
      $("error").replaceChildren();
      await Promise.all([loadCounts(), load(false)]);
      $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) { showError($("error"), err); }
  }

  function reload() {
    const f = filters();
    delete f.limit;
    history.replaceState(null, "", `?${new URLSearchParams(f)}`);
    refresh();
  }

  let typing = null;
  for (const id of ["name", "search"]) {
    $(id).addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(reload, 300); });
  }
  $("status").addEventListener("change", reload);
  $("more").addEventListener("click", () => load(true).catch((e) => showError($("error"), e)));
  Dx.autoRefresh(refresh, 5000, $("auto"));
})();
