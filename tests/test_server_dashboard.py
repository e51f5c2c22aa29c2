"""The dashboard in a real browser: headless Chromium (Debian's package) driven by selenium.

Each page is opened against a live server with real workflows; what it shows is compared with
the REST API, and the test clicks from the list to an instance to its child. Screenshots go
to tests/artifacts/dashboard/ (kept by CI as artifacts, ignored by git).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

import duroxide
from helpers.live_server import LiveServer
from helpers.util import wait_until

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import WebDriverException  # noqa: E402
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

    @rt.register_activity("Reject")
    def reject(ctx: Any, _: Any) -> None:
        raise ValueError("card declined")

    def payment(ctx: Any, amount: int) -> Any:
        result = yield ctx.schedule_activity("Charge", amount)
        yield ctx.schedule_timer(30)
        return result

    def order(ctx: Any, order: dict) -> Any:
        ctx.set_custom_status(json.dumps({"stage": "paying"}))
        ctx.set_kv_value("customer", order["customer"])
        paid = yield ctx.schedule_sub_orchestration_with_id("Payment", f"{order['id']}-pay",
                                                            order["amount"])
        ctx.set_custom_status(json.dumps({"stage": "done"}))
        return {"order": order["id"], "payment": paid}

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
    try:
        driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    except WebDriverException as exc:  # pragma: no cover - a broken browser install
        pytest.skip(f"chromium does not start: {exc.msg}")
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def wait_for(driver: Any, predicate: Callable[[Any], Any], timeout: float = 10) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(predicate)


def texts(driver: Any, css: str) -> list:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]


def no_errors(driver: Any) -> None:
    shown = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[data-testid=error]")]
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
    count = browser.find_element(By.CSS_SELECTOR, "[data-testid=count-completed] .n").text
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
    wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR,
                                               "[data-testid=instance-id]").text == "order-2")
    detail = httpx.get(f"{server.url}/v1/instances/order-2").json()
    wait_for(browser, lambda d: len(texts(d, "[data-testid=timeline-bar]")) == 1)
    assert browser.find_element(By.CSS_SELECTOR, "#badge [data-testid=status]").text == \
        detail["status"]
    assert json.loads(browser.find_element(By.CSS_SELECTOR, "[data-testid=result]").text) == \
        detail["output"]
    assert json.loads(browser.find_element(By.CSS_SELECTOR, "[data-testid=input]").text)[
        "amount"] == 12
    assert "customer" in browser.find_element(By.CSS_SELECTOR, "[data-testid=kv]").text
    assert "done" in browser.find_element(By.CSS_SELECTOR, "[data-testid=custom-status]").text
    browser.save_screenshot(str(ARTIFACTS / "instance.png"))

    child = wait_for(browser, lambda d: next(
        (a for a in d.find_elements(By.CSS_SELECTOR, "[data-testid=tree] a")
         if a.text == "order-2-pay"), None))
    child.click()
    wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR,
                                               "[data-testid=instance-id]").text == "order-2-pay")
    # The child's timeline shows the activity and the timer as bars.
    wait_for(browser, lambda d: len(texts(d, "[data-testid=timeline-bar]")) == 2)
    bars = texts(browser, "[data-testid=timeline-bar]")
    assert any("Charge" in b for b in bars) and any("timer" in b for b in bars)
    parent = browser.find_element(By.CSS_SELECTOR, "[data-testid=fact-parent] a")
    assert parent.text == "order-2"
    browser.save_screenshot(str(ARTIFACTS / "child.png"))
    no_errors(browser)


def test_failed_instance_shows_its_error(site: Any, browser: Any) -> None:
    server, _ = site
    browser.get(server.url + "/instance.html?id=broken-1")
    result = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=result]"))
    wait_for(browser, lambda d: "card declined" in result.text)
    assert browser.find_element(By.ID, "result-title").text.upper() == "ERROR"


def test_actions_raise_and_cancel_behind_confirmation(site: Any, browser: Any) -> None:
    server, client = site
    client.start_orchestration("approval-2", "Approval", None)
    browser.get(server.url + "/instance.html?id=approval-1")
    wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#badge").text == "Running")
    wait_until(lambda: any(e.kind == "ExternalSubscribed"
                           for e in client.read_execution_history("approval-1", 1)), 10)
    browser.find_element(By.ID, "event-name").send_keys("approve")
    browser.find_element(By.ID, "event-data").send_keys('{"by": "ops"}')
    browser.find_element(By.ID, "raise").click()
    browser.switch_to.alert.dismiss()  # declined: nothing is sent
    browser.find_element(By.ID, "raise").click()
    browser.switch_to.alert.accept()
    assert client.wait_for_orchestration("approval-1", 10000).output == {"by": "ops"}
    wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#badge").text == "Completed")

    browser.get(server.url + "/instance.html?id=approval-2")
    button = wait_for(browser, lambda d: d.find_element(By.ID, "cancel"))
    wait_for(browser, lambda d: d.find_element(By.ID, "cancel").is_enabled())
    button.click()
    browser.switch_to.alert.accept()
    result = client.wait_for_orchestration("approval-2", 10000)
    assert result.status == "Failed" and "canceled" in result.error
    wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#badge").text == "Failed")
    browser.find_element(By.ID, "delete").click()
    browser.switch_to.alert.accept()
    wait_for(browser, lambda d: d.current_url.endswith("index.html"))
    assert client.get_status("approval-2").status == "NotFound"


def test_metrics_workers_and_messaging_pages(site: Any, browser: Any) -> None:
    server, _ = site
    browser.get(server.url + "/metrics.html")
    metrics = httpx.get(f"{server.url}/v1/metrics").json()
    shown = wait_for(browser, lambda d: d.find_element(
        By.CSS_SELECTOR, "[data-testid=metric-instances] .n").text)
    assert int(shown) == metrics["system"]["total_instances"]
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR,
                                                "[data-testid=chart-queues] polyline"))
    browser.save_screenshot(str(ARTIFACTS / "metrics.png"))
    for page, testid in (("workers.html", "workers"), ("messaging.html", "topics")):
        browser.get(f"{server.url}/{page}")
        wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR,
                                                   f"[data-testid={testid}]").text)
        no_errors(browser)
        browser.save_screenshot(str(ARTIFACTS / page.replace(".html", ".png")))
