// Bulk actions on the instances page (POST /v1/bulk, docs/operations.md "Bulk actions"):
// Preview is a dry run that lists what matches; Apply, behind a confirmation naming the count,
// acts on each and shows what was done and what refused.
"use strict";
(() => {
  const { api, el, instanceLink, showError } = Dx;
  const $ = (id) => document.getElementById(id);
  let previewed = null; // the request the last preview answered; Apply sends exactly that

  function request() {
    const body = { action: $("bulk-action").value, dry_run: true };
    if ($("bulk-status").value) body.status = $("bulk-status").value;
    if ($("bulk-name").value.trim()) body.name = $("bulk-name").value.trim();
    if ($("bulk-prefix").value.trim()) body.id_prefix = $("bulk-prefix").value.trim();
    if ($("bulk-reason").value.trim()) body.reason = $("bulk-reason").value.trim();
    // The creation-time filter of the list above.
    const range = $("range").value;
    if (range && range !== "custom") body.created_after_ms = Math.max(0, Date.now() - Number(range));
    if (range === "custom") {
      const from = new Date($("from").value).getTime(), to = new Date($("to").value).getTime();
      if (Number.isFinite(from)) body.created_after_ms = from;
      if (Number.isFinite(to)) body.created_before_ms = to;
    }
    return body;
  }

  function ids(list) {
    const shown = list.slice(0, 20);
    return el("span", {}, shown.flatMap((i) => [instanceLink(i), " "]),
              list.length > shown.length ? `and ${list.length - shown.length} more` : "");
  }

  async function preview(event) {
    event.preventDefault();
    const body = request();
    try {
      const out = await api("/v1/bulk", { method: "POST", body });
      previewed = out.matched.length ? body : null;
      $("bulk-apply").disabled = !previewed;
      $("bulk-apply").textContent = `Apply: ${body.action} ${out.matched.length}`;
      $("bulk-result").replaceChildren(el("div", { class: "notice", "data-testid": "bulk-matched" },
        `${out.matched.length} instance${out.matched.length === 1 ? "" : "s"} match${out.matched.length === 1 ? "es" : ""}: `,
        ids(out.matched)));
    } catch (err) { previewed = null; $("bulk-apply").disabled = true; showError($("error"), err); }
  }

  async function apply() {
    if (!previewed) return;
    const body = { ...previewed, dry_run: false };
    if (!confirm(`${body.action} every instance that matches (${$("bulk-apply").textContent.split(" ").pop()} at the preview)? ` +
                 "Instances that refuse are listed; the others go on.")) return;
    $("bulk-apply").disabled = true;
    previewed = null;
    try {
      const out = await api("/v1/bulk", { method: "POST", body });
      $("bulk-result").replaceChildren(el("div", { class: out.failed.length ? "warning" : "ok", "data-testid": "bulk-done" },
        `${body.action}: ${out.done.length} done`, out.failed.length ? `, ${out.failed.length} refused:` : ".",
        out.failed.length ? el("ul", {}, out.failed.slice(0, 20).map(([i, e]) => el("li", {}, instanceLink(i), ` ${e}`))) : null));
    } catch (err) { showError($("error"), err); }
  }

  $("bulk-form").addEventListener("submit", preview);
  $("bulk-apply").addEventListener("click", apply);
  // A changed filter needs a new preview before Apply.
  $("bulk-form").addEventListener("input", () => { previewed = null; $("bulk-apply").disabled = true; });
})();
