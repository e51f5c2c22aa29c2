"""Regenerates the dashboard screenshots in docs/images/ (referenced from docs/server.md).

    PYTHONPATH=$PWD/python .venv/bin/python scripts/dashboard_screenshots.py [--out DIR]

Builds a demo store (tests/helpers/dashboard_site.py: completed, failed, waiting, suspended,
terminated and cancelled instances, a task graph, named limits, actors, dead letters), serves it with a real
uvicorn and photographs each page with headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by selenium, as in tests/test_server_dashboard*.py).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.dashboard_site import HAS_LIMITS, build_site  # noqa: E402
from helpers.live_server import LiveServer  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def browser(width: int = 1360, height: int = 1000) -> Any:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--no-first-run", "--disable-extensions",
                "--hide-scrollbars"):
        options.add_argument(arg)
    service = webdriver.ChromeService(shutil.which("chromedriver") or "chromedriver")
    return webdriver.Chrome(service=service, options=options)


def wait(driver: Any, predicate: Callable[[Any], Any], timeout: float = 15) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=[StaleElementReferenceException]).until(predicate)


def present(css: str) -> Callable[[Any], bool]:
    return lambda d: bool(d.find_elements(By.CSS_SELECTOR, css))


def shoot(driver: Any, out: Path, name: str, height: int = 1000, top: bool = True) -> None:
    """A screenshot `height` CSS pixels tall (less if the page is shorter), from the top of
    the page unless `top` is false."""
    if top:
        driver.execute_script("window.scrollTo(0, 0)")
    full = int(driver.execute_script("return document.documentElement.scrollHeight"))
    metrics = {"width": 1360, "height": min(height, full), "deviceScaleFactor": 1,
               "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    time.sleep(0.4)
    driver.save_screenshot(str(out / f"{name}.png"))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    print("wrote", out / f"{name}.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        site = build_site(str(Path(tmp) / "demo.db"))
        driver = browser()
        try:
            with LiveServer(site.client) as server:
                url = server.url
                driver.get(url + "/")
                wait(driver, present("[data-testid=error-cell]"))
                shoot(driver, out, "dashboard-instances", 760)
                driver.get(url + "/instance.html?id=checkout-7")
                wait(driver, present("[data-testid=root-cause]"))
                driver.find_elements(By.CSS_SELECTOR, "[data-testid=timeline-bar]")[-1].click()
                wait(driver, present("[data-testid=detail]"))
                shoot(driver, out, "dashboard-failed-instance", 1900)
                driver.get(url + "/instance.html?id=escalation-1")
                wait(driver, present("[data-testid=pending-queues]"))
                shoot(driver, out, "dashboard-waiting-on", 1100)
                driver.get(url + "/instance.html?id=order-1")
                wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid=timeline-bar]")) == 4)
                driver.find_elements(By.CSS_SELECTOR, "[data-testid=timeline-bar]")[1].click()
                wait(driver, present("[data-testid=detail]"))
                shoot(driver, out, "server-dashboard", 1500)
                driver.get(url + "/instance.html?id=graph-1")
                wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid=graph-node]")) == 4)
                driver.find_element(By.CSS_SELECTOR, "[data-testid=graph-node][data-node='2']").click()
                wait(driver, present("#node-detail [data-testid=detail]"))
                driver.execute_script("document.getElementById('graph-section').scrollIntoView()")
                shoot(driver, out, "dashboard-graph", 820, top=False)
                driver.get(url + "/workers.html")
                wait(driver, present("[data-testid=worker-row]"))
                shoot(driver, out, "dashboard-workers", 420)
                if HAS_LIMITS:
                    driver.get(url + "/limits.html")
                    wait(driver, present("[data-testid=limit-row]"))
                    shoot(driver, out, "dashboard-limits", 520)
                driver.get(url + "/messaging.html")
                wait(driver, present("[data-testid=redeliver]"))
                shoot(driver, out, "dashboard-messaging", 640)
        finally:
            driver.quit()
            site.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
