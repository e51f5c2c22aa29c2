"""The dashboard's HTML pages (docs/server.md, "The dashboard").

Every page is one shell (pages/shell.html: the document head, the stylesheet, app.js) around
the page's own body (pages/<page>.html), so that the pages share their head instead of each
repeating it. Only the HTML is assembled here, once, when the app is built; scripts, styles
and everything else stay static files under static/, loaded by URL: the
Content-Security-Policy refuses inline script and style.
"""

from __future__ import annotations

import html
from pathlib import Path
from string import Template
from typing import Awaitable, Callable, Dict, NamedTuple, Tuple

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

PAGES_DIR = Path(__file__).resolve().parent / "pages"

# The heading of a page that is one auto-refreshed view: its title, the auto-refresh switch
# (app.js, autoRefresh) and the slot where the page's scripts show errors.
HEADING = Template('  <h1>$title <label class="muted toggle">'
                   '<input type="checkbox" id="auto" checked> auto-refresh</label></h1>\n'
                   '  <div id="error"></div>\n')


class Page(NamedTuple):
    title: str  # in <title> (before " · duroxide") and, with `heading`, the page's <h1>
    scripts: Tuple[str, ...]  # the page's own scripts (static/), run in this order after app.js
    heading: bool = True  # False: the page's body writes its own <h1> and error slot


PAGES: Dict[str, Page] = {
    "index.html": Page("Instances", ("instances.js", "bulk.js"), heading=False),
    "instance.html": Page("Instance", ("instance-view.js", "instance-graph.js",
                                       "instance-ops.js", "instance.js"), heading=False),
    "workers.html": Page("Workers", ("workers.js",)),
    "schedules.html": Page("Schedules", ("schedules.js",)),
    "messaging.html": Page("Messaging", ("messaging.js",)),
    "limits.html": Page("Limits", ("limits.js",)),
    "metrics.html": Page("Metrics", ("metrics.js",)),
}


def render(name: str) -> str:
    """The whole HTML document of the page `name` (a key of PAGES)."""
    page = PAGES[name]
    title = html.escape(page.title)
    return Template((PAGES_DIR / "shell.html").read_text(encoding="utf-8")).substitute(
        title=title,
        scripts="\n".join(f'  <script src="{html.escape(script)}" defer></script>'
                          for script in page.scripts),
        heading=HEADING.substitute(title=title) if page.heading else "",
        body=(PAGES_DIR / name).read_text(encoding="utf-8"))


def install(app: FastAPI) -> None:
    """Routes every page of PAGES, and `/` to the instances list (index.html). They must come
    before the static files' mount at `/`, which serves the rest of the dashboard."""
    for name in PAGES:
        paths = ("/", "/index.html") if name == "index.html" else ("/" + name,)
        for path in paths:
            app.add_api_route(path, _endpoint(render(name)), methods=["GET", "HEAD"],
                              include_in_schema=False, response_class=HTMLResponse)


def _endpoint(document: str) -> Callable[[], Awaitable[HTMLResponse]]:
    async def page() -> HTMLResponse:
        return HTMLResponse(document)

    return page
