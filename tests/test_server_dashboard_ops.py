"""The dashboard's second round (issue 26 item 8) in a real browser: headless Chromium
(Debian's package, selenium) against a live uvicorn serving a store with one of everything
(tests/helpers/dashboard_site.py). One store, server and browser for the module.

Each test checks a behaviour that was broken or missing: auto-refresh keeping loaded pages and
shown errors, no /graph requests from non-graph pages, readable history and times, the list
filters and error column, distinct badges, the Waiting-on panel, the operations and their
results, tracebacks root cause first, bars and nodes that open their details, the graph's
drawing, the workers table and the messaging page.
"""

from __future__ import annotations

import shutil
import time
from typing import Any, Callable, Iterator

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

from helpers.dashboard_site import HAS_LIMITS, build_site
from helpers.live_server import LiveServer
from helpers.util import wait_until

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs chromium and chromium-driver (scripts/setup.sh)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: Any) -> Iterator[Any]:
    demo = build_site(str(tmp_path_factory.mktemp("dash-ops") / "d.db"))
    try:
        with LiveServer(demo.client, metrics_interval_s=0.5) as server:
            yield server, demo
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1360,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    except WebDriverException as exc:  # pragma: no cover - a broken browser install
        pytest.skip(f"chromium does not start: {exc.msg}")
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_for(driver: Any, predicate: Callable[[Any], Any], timeout: float = 10) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=[StaleElementReferenceException]).until(predicate)


def texts(driver: Any, css: str) -> list:
    return list(driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".map((e) => (e.innerText ?? e.textContent).trim())",
        css))


def text(driver: Any, css: str) -> str:
    found = texts(driver, css)
    return str(found[0]) if found else ""


def js(driver: Any, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def click(driver: Any, css: str) -> None:
    wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, css).is_enabled())
    driver.find_element(By.CSS_SELECTOR, css).click()


def open_instance(driver: Any, server: Any, instance_id: str, refresh: float = 0) -> None:
    suffix = f"&refresh={refresh}" if refresh else ""
    driver.get(f"{server.url}/instance.html?id={instance_id}{suffix}")
    wait_for(driver, lambda d: text(d, "[data-testid=instance-id]") == instance_id)
    wait_for(driver, lambda d: text(d, "#badge"))


# ---- the instances list -------------------------------------------------------------------------


def test_load_more_and_shown_errors_survive_auto_refresh(site: Any, browser: Any) -> None:
    server, _ = site
    browser.get(server.url + "/?limit=4&refresh=0.3")
    wait_for(browser, lambda d: len(texts(d, "[data-testid=instances] tbody tr")) == 4)
    click(browser, "#more")
    wait_for(browser, lambda d: len(texts(d, "[data-testid=instances] tbody tr")) == 8)
    before = js(browser, "return window.performance.getEntriesByType('resource').length")
    wait_for(browser, lambda d: js(d, "return window.performance.getEntriesByType("
                                      "'resource').length") > before + 4)  # refreshed twice+
    assert len(texts(browser, "[data-testid=instances] tbody tr")) == 8

    open_instance(browser, server, "reminder-1", refresh=0.3)
    browser.find_element(By.ID, "event-name").send_keys("x")
    browser.find_element(By.ID, "event-data").send_keys("{not json")
    browser.find_element(By.ID, "raise").click()
    wait_for(browser, lambda d: "not JSON" in text(d, "[data-testid=error]"))
    time.sleep(1.2)  # four refreshes
    assert "not JSON" in text(browser, "[data-testid=error]")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=error] button.dismiss").click()
    assert texts(browser, "[data-testid=error]") == []


def test_list_times_filters_error_column_and_badges(site: Any, browser: Any) -> None:
    server, _ = site
    browser.get(server.url + "/")
    wait_for(browser, lambda d: "checkout-7" in text(d, "[data-testid=instances]"))
    rows = js(browser, """return [...document.querySelectorAll('[data-testid=instances] tbody tr')]
        .map((tr) => [tr.cells[0].innerText.trim(), tr.querySelector('[data-testid=status]').innerText,
                      (tr.querySelector('[data-testid=error-cell]') || {}).innerText || ''])""")
    by_id = {r[0]: (r[1], r[2]) for r in rows}
    assert by_id["approval-2"] == ("Suspended", "waiting for the fraud team")
    assert by_id["approval-3"] == ("Terminated", "terminated: duplicate order")
    assert by_id["approval-4"][0] == "Canceled"
    assert by_id["checkout-7"][0] == "Failed" and "card declined" in by_id["checkout-7"][1]
    assert by_id["order-0"] == ("Completed", "")
    # Times: relative, one line each, the absolute UTC time on hover.
    cells = js(browser, """return [...document.querySelectorAll('[data-testid=instances] time.when')]
        .map((t) => [t.innerText, t.title, t.getBoundingClientRect().height])""")
    assert cells and all("ago" in t or t == "just now" for t, _, _ in cells)
    assert all(title.endswith("Z") and title[:2] == "20" for _, title, _ in cells)
    assert max(h for _, _, h in cells) < 24  # one line
    table_fits = js(browser, "const t = document.querySelector('#list table');"
                             "return t.scrollWidth <= t.parentElement.clientWidth + 1")
    assert table_fits

    # Top-level only hides the children; a time range with nothing in it shows nothing.
    click(browser, "#top-level")
    wait_for(browser, lambda d: "order-0-pay" not in text(d, "[data-testid=instances]")
             and "order-0" in text(d, "[data-testid=instances]"))
    assert "top_level=true" in browser.current_url
    browser.get(server.url + "/?range=custom&from=2100-01-01T00:00")
    wait_for(browser, lambda d: "Nothing here" in text(d, "[data-testid=instances]"))
    browser.get(server.url + "/?range=900000&status=Suspended")
    wait_for(browser, lambda d: texts(d, "[data-testid=instances] tbody td:first-child")
             == ["approval-2"])


# ---- one instance ---------------------------------------------------------------------------------


def test_non_graph_pages_never_request_the_graph(site: Any, browser: Any) -> None:
    server, _ = site
    open_instance(browser, server, "order-1", refresh=0.3)
    time.sleep(1.0)
    urls = js(browser, "return performance.getEntriesByType('resource').map((e) => e.name)")
    assert any(u.endswith("/pending") for u in urls)
    assert not [u for u in urls if "/graph" in u]
    assert js(browser, "return document.getElementById('graph-section').hidden")


def test_history_rows_expand_pretty_payloads_without_escapes(site: Any, browser: Any) -> None:
    server, _ = site
    open_instance(browser, server, "checkout-7")
    wait_for(browser, lambda d: len(texts(d, "[data-testid=event-row]")) >= 6)
    assert "\\n" not in text(browser, "[data-testid=events]")
    row = browser.find_elements(By.CSS_SELECTOR, "[data-testid=event-row]")[0]
    row.find_element(By.CSS_SELECTOR, "summary").click()
    shown = row.find_element(By.CSS_SELECTOR, "pre").text
    assert '"name": "Checkout"' in shown and '\n    "card": "4111-xx"' in shown
    time.sleep(3.3)  # one auto-refresh: what was opened stays open
    assert js(browser, "return document.querySelector('[data-testid=event-row] details').open")
    # Events whose `data` is null (custom status, KV writes) show their stored fields.
    open_instance(browser, server, "order-2")
    rows = wait_for(browser, lambda d: [r for r in texts(d, "[data-testid=event-row]")
                                        if "CustomStatusUpdated" in r or "KeyValueSet" in r])
    assert any("stage" in r for r in rows) and any('"customer"' in r for r in rows), rows


def test_failure_shows_root_cause_first_with_engine_frames_collapsed(site: Any,
                                                                     browser: Any) -> None:
    server, demo = site
    open_instance(browser, server, "checkout-7")
    cause = wait_for(browser, lambda d: text(d, "[data-testid=root-cause]"))
    assert "card declined: 4111-xx is blocked" in cause.splitlines()[0]
    failed = [e for e in demo.client.read_execution_history("checkout-7", 1)
              if e.kind == "ActivityFailed"]
    if '"traceback"' in (failed[0].data or ""):  # the runtime keeps activity tracebacks
        shown = text(browser, "[data-testid=root-cause] pre.err")
        # The activity's own frames, innermost (where it raised) first; the engine's apart.
        assert shown.index("_validate_card") < shown.index("charge_card"), shown
        assert "duroxide/worker" not in shown
    js(browser, "document.querySelectorAll('#result details').forEach((d) => d.open = true)")
    error = text(browser, "[data-testid=error-text] pre.err")
    first = error.splitlines()[0]
    assert first.startswith("duroxide.errors.ActivityFailedError"), error
    assert "dashboard_site.py" in error and "generator.py" not in error  # user frames only
    engine = text(browser, "[data-testid=error-text] [data-testid=engine-frames]")
    assert "generator.py" in engine and "^^^" not in engine


def test_badges_and_waiting_on_panel(site: Any, browser: Any) -> None:
    server, demo = site
    for instance_id, badge in (("approval-2", "Suspended"), ("approval-3", "Terminated"),
                               ("approval-4", "Canceled")):
        open_instance(browser, server, instance_id)
        assert text(browser, "#badge") == badge
    open_instance(browser, server, "approval-2")
    assert "decision" in wait_for(browser, lambda d: text(d, "[data-testid=pending-events]"))
    open_instance(browser, server, "reminder-1")
    timers = wait_for(browser, lambda d: text(d, "[data-testid=pending-timers]"))
    assert "pending" in timers and "in 59 min" in timers
    open_instance(browser, server, "batch-1")
    activity = wait_for(browser, lambda d: text(d, "[data-testid=pending-activities]"))
    assert "Slow" in activity and "running" in activity
    # The Slow bar opens its details: input, and the attempt from "Waiting on".
    click(browser, "[data-testid=timeline-bar]")
    detail = wait_for(browser, lambda d: text(d, "[data-testid=detail]"))
    assert "Slow" in detail and text(browser, "[data-testid=detail-attempt]") == "1"
    open_instance(browser, server, "approval-3")
    assert "ended" in text(browser, "[data-testid=pending]")
    # A start no runtime can take: the page says why (no sub-orchestration tree to read yet).
    demo.client.start_orchestration("queued-1", "NobodyRunsThis", None)
    open_instance(browser, server, "queued-1", refresh=0.5)
    assert text(browser, "#badge") == "Pending"
    start = wait_for(browser, lambda d: "not registered" in text(d, "[data-testid=pending-start]")
                     and text(d, "[data-testid=pending-start]"))
    assert start.startswith("Its start is queued"), start
    assert texts(browser, "[data-testid=error]") == []


def test_timer_that_lost_a_race_is_cancelled_not_pending(site: Any, browser: Any) -> None:
    server, demo = site
    open_instance(browser, server, "escalation-1")
    timers = wait_for(browser, lambda d: texts(d, "[data-testid=pending-timers] li"))
    assert [t.split()[2] for t in timers] == ["cancelled", "pending"], timers
    assert "close" in text(browser, "[data-testid=pending-events]")
    assert "notes" in text(browser, "[data-testid=pending-queues]")
    wait_for(browser, lambda d: len(texts(d, "[data-testid=timeline-bar]")) == 2)
    assert texts(browser, "[data-testid=bar-state]") == ["cancelled", "pending"]


def test_timeline_bar_opens_input_output_and_error(site: Any, browser: Any) -> None:
    server, _ = site
    open_instance(browser, server, "order-2")
    wait_for(browser, lambda d: len(texts(d, "[data-testid=timeline-bar]")) == 4)
    browser.find_elements(By.CSS_SELECTOR, "[data-testid=timeline-bar]")[0].click()
    detail = wait_for(browser, lambda d: text(d, "[data-testid=detail]"))
    assert "Reserve" in detail and '"order-2"' in detail and '"stock-order-2"' in detail
    click(browser, "[data-testid=close-detail]")
    wait_for(browser, lambda d: not texts(d, "[data-testid=detail]"))
    # From the keyboard too: Enter on a focused bar.
    browser.find_elements(By.CSS_SELECTOR, "[data-testid=timeline-bar]")[3].send_keys(Keys.ENTER)
    assert '"parcel-order-2"' in wait_for(browser, lambda d: text(d, "[data-testid=detail]"))
    open_instance(browser, server, "checkout-7")
    wait_for(browser, lambda d: len(texts(d, "[data-testid=timeline-bar]")) == 2)
    browser.find_elements(By.CSS_SELECTOR, "[data-testid=timeline-bar]")[1].click()
    error = wait_for(browser, lambda d: text(d, "[data-testid=detail] [data-testid=error-detail]"))
    assert "card declined" in error


def test_graph_is_drawn_readably_and_nodes_open_details(site: Any, browser: Any) -> None:
    server, _ = site
    open_instance(browser, server, "graph-1")
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid=graph-node]")) == 4)
    # Every label inside its box; every edge ends in an arrowhead.
    outside = js(browser, """return [...document.querySelectorAll('[data-testid=graph-node]')].flatMap((g) => {
        const box = g.querySelector('rect').getBBox();
        return [...g.querySelectorAll('text')].filter((t) => { const b = t.getBBox();
          return b.x < box.x || b.x + b.width > box.x + box.width || b.y < box.y ||
                 b.y + b.height > box.y + box.height; }).map((t) => t.textContent); })""")
    assert outside == []
    edges = js(browser, "return [...document.querySelectorAll('[data-testid=graph-edge]')]"
                        ".map((p) => p.getAttribute('marker-end'))")
    assert len(edges) == 4 and set(edges) == {"url(#dx-arrow)"}
    assert js(browser, "return !!document.querySelector('#dx-arrow path')")
    error = js(browser, "return [...document.querySelectorAll('[data-testid=graph-node-error] "
                        "tspan')].map((t) => t.textContent).join(' ')")
    assert error == "ValueError: model server unavailable"  # in full, on two lines
    # The Input panel shows the calls, not the internal node list.
    shown = text(browser, "[data-testid=graph-input]")
    assert "#0  fetch(\"https://example.org\")" in shown and "#3  report(#1, #2)" in shown
    assert "$dx_ref" not in text(browser, "[data-testid=input]")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=graph-node][data-node='2']").click()
    detail = wait_for(browser, lambda d: text(d, "#node-detail [data-testid=detail]"))
    assert "model server unavailable" in detail and "<html>https://example.org</html>" in detail
    workers = httpx.get(f"{server.url}/v1/workers").json()
    assert text(browser, "#node-detail [data-testid=detail-worker]") in {w["name"] for w in workers}
    assert text(browser, "#node-detail [data-testid=detail-attempt]") == "1"


# ---- operations -----------------------------------------------------------------------------------


def test_suspend_resume_raise_warning_and_terminate(site: Any, browser: Any) -> None:
    server, demo = site
    client = demo.client
    open_instance(browser, server, "approval-1")
    click(browser, "[data-testid=suspend]")
    prompt = browser.switch_to.alert
    prompt.send_keys("checking the order")
    prompt.accept()
    wait_for(browser, lambda d: text(d, "#badge") == "Suspended")
    assert client.get_status("approval-1").status == "Suspended"
    assert "checking the order" in text(browser, "[data-testid=fact-reason]")
    click(browser, "[data-testid=resume]")
    browser.switch_to.alert.accept()
    wait_for(browser, lambda d: text(d, "#badge") == "Running")
    assert client.get_status("approval-1").status == "Running"

    # An event nobody waits for: the confirmation and the result both say so.
    browser.find_element(By.ID, "event-name").send_keys("approve")
    browser.find_element(By.ID, "raise").click()
    alert = browser.switch_to.alert
    assert 'Nothing waits for "approve"' in alert.text and "decision" in alert.text
    alert.accept()
    warning = wait_for(browser, lambda d: text(d, "[data-testid=raise-warning]"))
    assert "decision" in warning
    assert any(e.kind == "ExternalEvent" for e in client.read_execution_history("approval-1", 1))

    click(browser, "[data-testid=terminate]")
    prompt = browser.switch_to.alert
    prompt.send_keys("no longer needed")
    prompt.accept()
    wait_for(browser, lambda d: text(d, "#badge") == "Terminated")
    assert client.get_status("approval-1").error == "terminated: no longer needed"
    assert not browser.find_element(By.CSS_SELECTOR, "[data-testid=terminate]").is_enabled()


def test_rerun_shows_its_verification(site: Any, browser: Any) -> None:
    server, demo = site
    client = demo.client
    open_instance(browser, server, "checkout-7")
    click(browser, "[data-testid=rerun]")
    browser.switch_to.alert.accept()
    ok = wait_for(browser, lambda d: text(d, "[data-testid=action-ok]"), timeout=20)
    assert ok.startswith("Verified") and "checkout-7~1" in ok
    assert wait_until(lambda: client.get_status("checkout-7~1").status == "Failed", 10)

    demo.gate["v2"] = True  # "deploy" code whose first step differs from the recorded one
    try:
        click(browser, "[data-testid=rerun]")
        browser.switch_to.alert.accept()
        failed = wait_for(browser, lambda d: text(d, "[data-testid=action-error]"), timeout=20)
        assert failed.startswith("Verification failed") and "checkout-7~2" in failed
        assert text(browser, "[data-testid=rerun-report]")
        assert client.get_status("checkout-7~2").status == "Suspended"
    finally:
        demo.gate["v2"] = False
    # A rerun from an event outside the history: the server's 400 stays on the page. What
    # was typed survives an auto-refresh.
    open_instance(browser, server, "checkout-7", refresh=0.3)
    browser.find_element(By.ID, "rerun-from").send_keys("999")
    time.sleep(1)
    assert browser.find_element(By.ID, "rerun-from").get_attribute("value") == "999"
    click(browser, "[data-testid=rerun]")
    browser.switch_to.alert.accept()
    wait_for(browser, lambda d: "999" in text(d, "[data-testid=error]"))


# ---- workers and messaging ------------------------------------------------------------------------


def test_workers_table_fits_and_drain_only_on_running_workers(site: Any, browser: Any) -> None:
    server, _ = site
    browser.get(server.url + "/workers.html")
    wait_for(browser, lambda d: len(texts(d, "[data-testid=worker-row]")) == 2)
    fits = js(browser, "const t = document.querySelector('table.workers');"
                       "return t.scrollWidth <= t.closest('section').clientWidth")
    assert fits
    rows = js(browser, """return [...document.querySelectorAll('[data-testid=worker-row]')].map((tr) => [
        tr.dataset.status, getComputedStyle(tr.querySelector('[data-testid=status]')).backgroundColor,
        tr.querySelector('[data-testid=capacity]').innerText,
        tr.querySelector('[data-testid=load] .kv-compact').getBoundingClientRect().height,
        !!tr.querySelector('[data-testid=drain]')])""")
    by_status = {r[0]: r for r in rows}
    assert set(by_status) == {"active", "stopped"}
    assert by_status["active"][1] != by_status["stopped"][1]
    for _, _, capacity, load_height, _ in rows:
        assert "{" not in capacity and "orch." in capacity
        assert load_height < 24  # one line
    assert by_status["active"][4] and not by_status["stopped"][4]


def test_messaging_redeliver_purge_and_actors(site: Any, browser: Any) -> None:
    server, demo = site
    client = demo.client
    browser.get(server.url + "/messaging.html")
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid=purge]")) == 2)
    assert "@actor/Counter/visits/home" in text(browser, "[data-testid=actors]")
    first, second = (d.id for d in client.list_dead_letters("ghost-1"))
    browser.find_elements(By.CSS_SELECTOR, "[data-testid=purge]")[0].click()
    browser.switch_to.alert.accept()
    wait_for(browser, lambda d: "Purged 1" in text(d, "[data-testid=dead-result]"))
    assert [d.id for d in client.list_dead_letters("ghost-1")] == [second]
    client.start_orchestration("ghost-1", "Approval", None)  # now the letter has a recipient
    click(browser, "[data-testid=redeliver]")
    browser.switch_to.alert.accept()
    wait_for(browser, lambda d: "moved back" in text(d, "[data-testid=dead-result]"))
    assert client.list_dead_letters("ghost-1") == []
    wait_for(browser, lambda d: "Nothing here" in text(d, "[data-testid=dead-letters]"))
    assert first != second


def test_new_pages_run_under_the_content_security_policy(site: Any, browser: Any) -> None:
    server, _ = site
    has_limits = httpx.get(f"{server.url}/v1/limits").status_code == 200
    browser.get_log("browser")
    for page in ("/instance.html?id=graph-1", "/instance.html?id=checkout-7", "/workers.html",
                 "/messaging.html", "/?top_level=true", "/limits.html"):
        browser.get(server.url + page)
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "table, svg, .notice"),
                 timeout=15)
        time.sleep(0.3)
        logged = [e["message"] for e in browser.get_log("browser")
                  if "Content Security Policy" in e["message"] or e["level"] == "SEVERE"]
        # A build without named limits answers 404 there, and the page says so.
        logged = [m for m in logged if (has_limits or "/v1/limits " not in m)
                  and "favicon.ico" not in m]
        assert logged == [], (page, logged)


def test_bulk_preview_then_apply(site: Any, browser: Any) -> None:
    server, demo = site
    client = demo.client
    batch = [f"bulk/{i}" for i in range(3)]
    for instance_id in batch:
        client.start_orchestration(instance_id, "Approval", None)
    for instance_id in batch:
        assert wait_until(lambda: any(e.kind == "ExternalSubscribed" for e in _history(
            client, instance_id)), 10)
    browser.get(server.url + "/")
    browser.find_element(By.CSS_SELECTOR, "#bulk summary").click()
    browser.find_element(By.ID, "bulk-prefix").send_keys("bulk/")
    browser.find_element(By.ID, "bulk-reason").send_keys("maintenance window")
    assert not browser.find_element(By.ID, "bulk-apply").is_enabled()  # preview first
    browser.find_element(By.ID, "bulk-preview").click()
    matched = wait_for(browser, lambda d: text(d, "[data-testid=bulk-matched]"))
    assert matched.startswith("3 instances match") and all(i in matched for i in batch)
    assert [client.get_status(i).status for i in batch] == ["Running"] * 3  # a dry run
    click(browser, "#bulk-apply")
    browser.switch_to.alert.accept()
    done = wait_for(browser, lambda d: text(d, "[data-testid=bulk-done]"))
    assert done == "suspend: 3 done."
    assert [client.get_status(i).status for i in batch] == ["Suspended"] * 3
    assert client.get_status(batch[0]).error == "maintenance window"

    # Resume those that are suspended: a changed filter needs a new preview.
    browser.find_element(By.CSS_SELECTOR, "#bulk-action option[value=resume]").click()
    assert not browser.find_element(By.ID, "bulk-apply").is_enabled()
    browser.find_element(By.ID, "bulk-preview").click()
    wait_for(browser, lambda d: text(d, "#bulk-apply") == "Apply: resume 3")
    click(browser, "#bulk-apply")
    browser.switch_to.alert.accept()
    wait_for(browser, lambda d: text(d, "[data-testid=bulk-done]") == "resume: 3 done.")
    assert [client.get_status(i).status for i in batch] == ["Running"] * 3


def _history(client: Any, instance_id: str) -> list:
    try:
        return list(client.read_execution_history(instance_id, 1))
    except Exception:  # noqa: BLE001 - not started yet
        return []


@pytest.mark.skipif(not HAS_LIMITS, reason="named limits (issue 25) are not in this build")
def test_limits_page_and_an_instance_waiting_for_a_limit(site: Any, browser: Any) -> None:
    server, demo = site
    browser.get(server.url + "/limits.html")
    wait_for(browser, lambda d: len(texts(d, "[data-testid=limit-row]")) == 2)
    rows = js(browser, """return Object.fromEntries([...document.querySelectorAll(
        '[data-testid=limit-row]')].map((tr) => [tr.dataset.name, [...tr.cells].map((c) => c.innerText.trim())]))""")
    assert rows["llm"][1] == "at most 1 at once" and rows["llm"][2].startswith("1 / 1")
    assert rows["llm"][3] == "1"  # summary-2 waits for the free slot
    assert rows["tenant"][1] == "at most 1 at once, per key"
    assert rows["tenant"][3] == "1" and "acme 1 +1" in rows["tenant"][4] \
        and "zenith 1" in rows["tenant"][4]
    waiting = text(browser, "[data-testid=limit-waits]")
    assert "export-nobody" in waiting and "quota" in waiting and "not defined" in waiting
    assert "summary-2" in waiting and "the limit is full" in waiting

    # On the instance: its queued activity says which limit it waits for.
    held = "summary-2" if demo.client.get_pending("summary-2").activities[0]["state"] == "queued" \
        else "summary-1"
    open_instance(browser, server, held)
    wait = wait_for(browser, lambda d: text(d, "[data-testid=waits-for-limit]"))
    assert "waits for limit llm, which is full" in wait
    open_instance(browser, server, "export-nobody")
    wait = wait_for(browser, lambda d: text(d, "[data-testid=waits-for-limit]"))
    assert "limit quota (key nobody), which is not defined" in wait
