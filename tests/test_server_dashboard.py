"""The dashboard in a real browser: headless Chromium (Debian's package) driven by selenium.

Each page is opened against a live server with real workflows; what it shows is compared with
the REST API, and the test clicks from the list to an instance to its child. Screenshots go
to tests/artifacts/dashboard/ (kept by CI as artifacts, ignored by git).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

import duroxide
from helpers.dashboard_site import order, payment
from helpers.live_server import FeatureClient, LiveServer
from helpers.util import wait_until

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "dashboard"

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs chromium and chromium-driver (scripts/setup.sh)")


def register(rt: duroxide.Runtime) -> None:
    @rt.register_activity("Charge")
    def charge(ctx: Any, amount: int) -> dict:
        return {"charged": amount}

    @rt.register_activity("Reserve")
    def reserve(ctx: Any, order_id: str) -> str:
        time.sleep(0.03)  # visible bars on the timeline
        return f"stock-{order_id}"

    @rt.register_activity("Ship")
    def ship(ctx: Any, order_id: str) -> str:
        time.sleep(0.02)
        return f"parcel-{order_id}"

    @rt.register_activity("Reject")
    def reject(ctx: Any, _: Any) -> None:
        raise ValueError("card declined")

    def approval(ctx: Any, _: Any) -> Any:
        decision = yield ctx.wait_for_event("approve")
        return decision

    def broken(ctx: Any, _: Any) -> Any:
        yield ctx.schedule_activity("Reject", None)

    for name, fn in (("Payment", payment), ("Order", order), ("Approval", approval),
                     ("Broken", broken)):
        rt.register_orchestration(name, fn)


@pytest.fixture(scope="module")
def site(tmp_path_factory: Any) -> Iterator[Any]:
    """A live server on a file store with finished, failed and waiting instances."""
    provider = duroxide.SqliteProvider.open(str(tmp_path_factory.mktemp("dash") / "d.db"))
    client = duroxide.Client(provider)
    rt = duroxide.Runtime(provider, duroxide.RuntimeOptions(dispatcher_poll_interval_ms=20))
    register(rt)
    rt.start()
    try:
        for i in range(3):
            client.start_orchestration(f"order-{i}", "Order",
                                       {"id": f"order-{i}", "customer": f"c{i}", "amount": 10 + i})
        client.start_orchestration("broken-1", "Broken", None)
        client.start_orchestration("approval-1", "Approval", None)
        for instance in ("order-0", "order-1", "order-2", "broken-1"):
            client.wait_for_orchestration(instance, 15000)
        with LiveServer(client, metrics_interval_s=0.2) as server:
            yield server, client
    finally:
        rt.shutdown(3000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1360,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP reports (below)
    try:
        driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    except WebDriverException as exc:  # pragma: no cover - a broken browser install
        pytest.skip(f"chromium does not start: {exc.msg}")
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def wait_for(driver: Any, predicate: Callable[[Any], Any], timeout: float = 10) -> Any:
    # Pages re-render on auto-refresh: an element read mid-refresh is simply read again.
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=[StaleElementReferenceException]).until(predicate)


def texts(driver: Any, css: str) -> list:
    """The visible texts of the elements matching `css`, read in one step (no stale reads)."""
    return list(driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((e) => e.innerText.trim())",
        css))


def text(driver: Any, css: str) -> str:
    """The text of the first element matching `css` ("" if none), read in one step."""
    found = texts(driver, css)
    return str(found[0]) if found else ""


def no_errors(driver: Any) -> None:
    shown = texts(driver, "[data-testid=error]")
    assert not shown, shown


def test_instances_page_matches_the_api_and_filters(site: Any, browser: Any) -> None:
    server, _ = site
    api = httpx.get(f"{server.url}/v1/instances").json()["items"]
    metrics = httpx.get(f"{server.url}/v1/metrics").json()["system"]
    browser.get(server.url + "/")
    wait_for(browser, lambda d: len(texts(d, "[data-testid=instances] tbody tr")) == len(api))
    shown = texts(browser, "[data-testid=instances] tbody tr td:first-child")
    assert shown == [i["instance_id"] for i in api]
    statuses = texts(browser, "[data-testid=instances] tbody [data-testid=status]")
    assert statuses == [i["status"] for i in api]
    count = text(browser, "[data-testid=count-completed] .n")
    assert int(count) == metrics["completed_instances"]
    browser.save_screenshot(str(ARTIFACTS / "instances.png"))

    browser.find_element(By.CSS_SELECTOR, "[data-testid=count-failed]").click()
    wait_for(browser, lambda d: texts(d, "[data-testid=instances] tbody td:first-child")
             == ["broken-1"])
    browser.find_element(By.CSS_SELECTOR, "[data-testid=count-all]").click()
    browser.find_element(By.ID, "search").send_keys("order-1")
    wait_for(browser, lambda d: set(texts(d, "[data-testid=instances] tbody td:first-child"))
             == {"order-1", "order-1-pay"})
    no_errors(browser)


def test_click_list_to_instance_to_child(site: Any, browser: Any) -> None:
    server, _ = site
    browser.get(server.url + "/?q=order-2")
    link = wait_for(browser, lambda d: next(
        (a for a in d.find_elements(By.CSS_SELECTOR, "[data-testid=instance-link]")
         if a.text == "order-2"), None))
    link.click()
    wait_for(browser, lambda d: text(d, "[data-testid=instance-id]") == "order-2")
    detail = httpx.get(f"{server.url}/v1/instances/order-2").json()
    wait_for(browser, lambda d: len(texts(d, "[data-testid=timeline-bar]")) == 4)
    bars = texts(browser, "[data-testid=timeline-bar]")
    assert [b.split()[0] for b in bars] == ["Reserve", "Payment", "timer", "Ship"]
    assert text(browser, "#badge [data-testid=status]") == \
        detail["status"]
    assert json.loads(text(browser, "[data-testid=result]")) == \
        detail["output"]
    assert json.loads(text(browser, "[data-testid=input]"))[
        "amount"] == 12
    assert "customer" in text(browser, "[data-testid=kv]")
    assert "done" in text(browser, "[data-testid=custom-status]")
    browser.save_screenshot(str(ARTIFACTS / "instance.png"))
    browser.set_window_size(1360, 1500)  # the whole page, for docs/server.md
    browser.save_screenshot(str(ARTIFACTS / "instance-full.png"))
    browser.set_window_size(1360, 1000)

    child = wait_for(browser, lambda d: next(
        (a for a in d.find_elements(By.CSS_SELECTOR, "[data-testid=tree] a")
         if a.text == "order-2-pay"), None))
    child.click()
    wait_for(browser, lambda d: text(d, "[data-testid=instance-id]") == "order-2-pay")
    # The child's timeline shows the activity and the timer as bars.
    wait_for(browser, lambda d: len(texts(d, "[data-testid=timeline-bar]")) == 2)
    bars = texts(browser, "[data-testid=timeline-bar]")
    assert any("Charge" in b for b in bars) and any("timer" in b for b in bars)
    assert text(browser, "[data-testid=fact-parent] a") == "order-2"
    browser.save_screenshot(str(ARTIFACTS / "child.png"))
    no_errors(browser)


def test_failed_instance_shows_its_error(site: Any, browser: Any) -> None:
    server, _ = site
    browser.get(server.url + "/instance.html?id=broken-1")
    wait_for(browser, lambda d: "card declined" in text(d, "[data-testid=result]"))
    assert text(browser, "#result-title").upper() == "ERROR"


def test_actions_raise_and_cancel_behind_confirmation(site: Any, browser: Any) -> None:
    server, client = site
    client.start_orchestration("approval-2", "Approval", None)
    browser.get(server.url + "/instance.html?id=approval-1")
    wait_for(browser, lambda d: text(d, "#badge") == "Running")
    wait_until(lambda: any(e.kind == "ExternalSubscribed"
                           for e in client.read_execution_history("approval-1", 1)), 10)
    browser.find_element(By.ID, "event-name").send_keys("approve")
    browser.find_element(By.ID, "event-data").send_keys('{"by": "ops"}')
    browser.find_element(By.ID, "raise").click()
    browser.switch_to.alert.dismiss()  # declined: nothing is sent
    browser.find_element(By.ID, "raise").click()
    browser.switch_to.alert.accept()
    assert client.wait_for_orchestration("approval-1", 10000).output == {"by": "ops"}
    wait_for(browser, lambda d: text(d, "#badge") == "Completed")

    browser.get(server.url + "/instance.html?id=approval-2")
    button = wait_for(browser, lambda d: d.find_element(By.ID, "cancel"))
    wait_for(browser, lambda d: d.find_element(By.ID, "cancel").is_enabled())
    button.click()
    browser.switch_to.alert.accept()
    result = client.wait_for_orchestration("approval-2", 10000)
    assert result.status == "Failed" and "canceled" in result.error
    wait_for(browser, lambda d: text(d, "#badge") == "Canceled")  # shown as the CLI shows it
    browser.find_element(By.ID, "delete").click()
    browser.switch_to.alert.accept()
    wait_for(browser, lambda d: d.current_url.endswith("index.html"))
    assert client.get_status("approval-2").status == "NotFound"


def test_metrics_workers_and_messaging_pages(site: Any, browser: Any) -> None:
    server, _ = site
    browser.get(server.url + "/metrics.html")
    metrics = httpx.get(f"{server.url}/v1/metrics").json()
    shown = wait_for(browser, lambda d: text(d, "[data-testid=metric-instances] .n"))
    assert int(shown) == metrics["system"]["total_instances"]
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR,
                                                "[data-testid=chart-queues] polyline"))
    browser.save_screenshot(str(ARTIFACTS / "metrics.png"))
    for page, testid in (("workers.html", "workers"), ("messaging.html", "topics")):
        browser.get(f"{server.url}/{page}")
        wait_for(browser, lambda d: text(d, f"[data-testid={testid}]"))
        no_errors(browser)
        browser.save_screenshot(str(ARTIFACTS / page.replace(".html", ".png")))


def test_workers_and_topics_pages_with_those_features(site: Any, browser: Any) -> None:
    """With a Client whose fleet and messaging methods answer, the pages show them (the task
    graph, on a real graph instance: tests/test_server_dashboard_ops.py)."""
    _, client = site
    with LiveServer(FeatureClient(client)) as server:
        browser.get(server.url + "/workers.html")
        wait_for(browser, lambda d: "amber-otter-1" in text(d, "[data-testid=workers]"))
        assert "3 turns" in text(browser, "[data-testid=workers]")
        browser.save_screenshot(str(ARTIFACTS / "workers-fleet.png"))
        browser.get(server.url + "/messaging.html")
        wait_for(browser, lambda d: "orders" in text(d, "[data-testid=topics]"))
        assert "instance not found" in text(browser, "[data-testid=dead-letters]")
        no_errors(browser)


def test_swagger_ui_renders_the_api_offline(site: Any, browser: Any) -> None:
    """Swagger UI (assets served by this server, nothing from elsewhere) shows every path."""
    server, _ = site
    browser.get(server.url + "/docs")
    wait_for(browser, lambda d: len(texts(d, ".opblock-summary-path")) > 20, timeout=20)
    paths = set(texts(browser, ".opblock-summary-path"))
    assert {"/v1/instances", "/v1/instances/{instance_id}", "/v1/health"} <= paths
    external = browser.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)"
        ".filter((u) => !u.startsWith(location.origin) && !u.startsWith('data:'))")
    assert external == []
    browser.save_screenshot(str(ARTIFACTS / "swagger.png"))


# Ids that need escaping in a URL path: a slash, dot segments, percent, hash, question mark,
# spaces, non-ASCII, an actor-style id (docs/server.md, "Ids in URLs").
UGLY_IDS = ["a/b", "..", ".", "50% #1? ok", "Zählung-✓", "@actor/Counter/visits"]


def _subscribed(client: Any, instance_id: str) -> bool:
    try:
        return any(e.kind == "ExternalSubscribed"
                   for e in client.read_execution_history(instance_id, 1))
    except duroxide.NotFoundError:  # its first turn has not committed yet
        return False


def test_pages_work_for_ids_that_need_escaping(site: Any, browser: Any) -> None:
    """Every instance page, its actions and its links work for ids with /, ., .., %, #, ?,
    spaces and non-ASCII characters."""
    server, client = site
    for instance_id in UGLY_IDS:
        client.start_orchestration(instance_id, "Approval", None)
    client.start_orchestration("x/..", "Order", {"id": "x/..", "customer": "c/1", "amount": 3})
    for instance_id in UGLY_IDS:
        assert wait_until(lambda: _subscribed(client, instance_id), 30)
        browser.get(server.url + "/")
        link = wait_for(browser, lambda d: next(
            (a for a in d.find_elements(By.CSS_SELECTOR, "[data-testid=instance-link]")
             if a.get_attribute("textContent") == instance_id), None))
        link.click()
        wait_for(browser, lambda d: text(d, "[data-testid=instance-id]") == instance_id)
        wait_for(browser, lambda d: text(d, "#badge") == "Running")
        browser.find_element(By.ID, "event-name").send_keys("approve")
        browser.find_element(By.ID, "event-data").send_keys(json.dumps({"id": instance_id}))
        browser.find_element(By.ID, "raise").click()
        browser.switch_to.alert.accept()
        assert client.wait_for_orchestration(instance_id, 10000).output == {"id": instance_id}
        wait_for(browser, lambda d: text(d, "#badge") == "Completed")
        no_errors(browser)

    # The child of "x/.." is "x/..-pay": the tree links both ways.
    client.wait_for_orchestration("x/..", 15000)
    browser.get(server.url + "/instance.html?id=" + "x%2F..")
    wait_for(browser, lambda d: "customer" in text(d, "[data-testid=kv]"))
    child = wait_for(browser, lambda d: next(
        (a for a in d.find_elements(By.CSS_SELECTOR, "[data-testid=tree] a")
         if a.text == "x/..-pay"), None))
    child.click()
    wait_for(browser, lambda d: text(d, "[data-testid=instance-id]") == "x/..-pay")
    assert text(browser, "[data-testid=fact-parent] a") == "x/.."
    no_errors(browser)

    browser.get(server.url + "/instance.html?id=" + "a%2Fb")
    wait_for(browser, lambda d: text(d, "#badge") == "Completed")
    browser.find_element(By.ID, "delete").click()
    browser.switch_to.alert.accept()
    wait_for(browser, lambda d: d.current_url.endswith("index.html"))
    assert client.get_status("a/b").status == "NotFound"
    assert client.get_status("..").status == "Completed"


def test_pages_run_under_the_content_security_policy(site: Any, browser: Any) -> None:
    """Every page and Swagger UI work under the server's CSP: it is sent, and the browser
    reports no violation (no inline script or style attribute left anywhere)."""
    server, _ = site
    headers = httpx.get(server.url + "/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    browser.get_log("browser")  # drop what earlier tests logged
    for page, ready in (("/", "#list table"), ("/instance.html?id=order-0", "#timeline"),
                        ("/metrics.html", "h1"), ("/workers.html", "h1"),
                        ("/messaging.html", "h1"), ("/docs", ".opblock-summary-path")):
        browser.get(server.url + page)
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ready)) > 0, timeout=20)
        time.sleep(0.3)
        violations = [entry["message"] for entry in browser.get_log("browser")
                      if "Content Security Policy" in entry["message"]]
        assert violations == [], (page, violations)


def test_schedules_page_lists_and_pauses_resumes_triggers(site: Any, browser: Any) -> None:
    """The schedules page shows next/last fire and recent runs as links; its buttons pause,
    resume and trigger through the REST API."""
    server, client = site
    sid = "nightly/ä #1"
    client.create_schedule(sid, "Order", {"id": "sched", "customer": "c", "amount": 1},
                           cron="0 3 * * *", timezone="Europe/Paris")
    try:
        browser.get(server.url + "/schedules.html")
        wait_for(browser, lambda d: sid in text(d, "[data-testid=schedules]"))
        table_text = text(browser, "[data-testid=schedules]")
        assert "cron 0 3 * * * (Europe/Paris)" in table_text
        # The next fire: relative, the absolute UTC time on hover.
        nxt = browser.find_element(By.CSS_SELECTOR, "[data-testid=schedules] time.when")
        assert nxt.text.startswith("in ") and nxt.get_attribute("title").endswith(":00.000Z")
        browser.find_element(By.CSS_SELECTOR, "[data-testid=pause]").click()
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=resume]"))
        assert client.get_schedule(sid).paused
        browser.find_element(By.CSS_SELECTOR, "[data-testid=resume]").click()
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=pause]"))
        assert not client.get_schedule(sid).paused
        browser.find_element(By.CSS_SELECTOR, "[data-testid=trigger]").click()
        link = wait_for(browser, lambda d: text(d, "[data-testid=triggered] a"))
        assert link.startswith(sid + "@") and client.get_schedule(sid).recent_instances == [link]
        assert client.wait_for_orchestration(link, 15000).status == "Completed"
        browser.get(server.url + "/schedules.html")
        wait_for(browser, lambda d: link in text(d, "[data-testid=schedules] "
                                                    "[data-testid=instance-link]"))
        no_errors(browser)
        browser.save_screenshot(str(ARTIFACTS / "schedules.png"))
    finally:
        client.delete_schedule(sid)
