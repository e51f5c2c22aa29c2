// Topics and dead letters (GET /v1/topics and /v1/dead-letters, added by messaging).
"use strict";
(() => {
  const { optional, el, showError, table } = Dx;
  Dx.header("messaging.html");
  const $ = (id) => document.getElementById(id);

  function show(target, data, what, path) {
    if (data === null) {
      target.replaceChildren(el("div", { class: "notice", "data-testid": "unavailable" },
        `This server has no ${what} endpoint (${path}): messaging is not part of this build.`));
      return;
    }
    const rows = Array.isArray(data) ? data : data.items || data[what] || [];
    target.replaceChildren(table(rows));
  }

  async function refresh() {
    try {
      const [topics, dead] = await Promise.all([optional("/v1/topics"), optional("/v1/dead-letters")]);
      show($("topics"), topics, "topics", "/v1/topics");
      show($("dead-letters"), dead, "dead letters", "/v1/dead-letters");
      $("error").replaceChildren();
    } catch (err) { showError($("error"), err); }
  }
  Dx.autoRefresh(refresh, 5000, $("auto"));
})();
