"""The dashboard of kvcli serve in headless Chromium, driven by Selenium
(Debian's chromium, chromium-driver and python3-selenium; run with
/usr/bin/python3). For tests/kvcli_dashboard_test.sh.

  dashboard_browser.py KEY KVBENCH HIDDEN_URL SHOWN_URL [SCREENSHOT]

One browser visits both servers: on each the page loads with no console
errors, lists KEY, draws its charts, a chart's latest point moves after a
short KVBENCH run writes to the store, and the per-stripe chart's fill axis
ends well below 100% for a store that is nearly empty; the largest entries' key names
are hidden at HIDDEN_URL (kvcli serve) and shown at SHOWN_URL (kvcli serve
--show-keys). Prints "ok" or the failure.
"""
import subprocess
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1400", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def latest_puts(driver):
    """The puts-per-second series' latest point, and how many points there are."""
    return driver.execute_script(
        "const c = window.shmkvDashboard && window.shmkvDashboard.charts.ops;"
        "if (!c) return null;"
        "const d = c.data.datasets[1].data;"
        "return [d.length ? d[d.length - 1] : null, d.length];")


def fill_axis_max(driver):
    """The top of the per-stripe chart's fill axis (0 to 1), or None."""
    return driver.execute_script(
        "const c = window.shmkvDashboard && window.shmkvDashboard.charts.stripes;"
        "return c && c.scales.y2 ? c.scales.y2.max : null;")


def check(driver, url, key, kvbench, mode, screenshot):
    driver.get(url + "#" + key)
    wait = WebDriverWait(driver, 30, poll_frequency=0.1)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'#stores tr[data-key="{key}"]'))
    assert driver.execute_script("return typeof Chart") == "function", "Chart.js did not load"
    assert len(driver.find_elements(By.CSS_SELECTOR, "#stores tr.store")) >= 2, "not every store"
    # Two refreshes give the first rate point; wait for one with no puts.
    wait.until(lambda d: (latest_puts(d) or [None, 0])[1] >= 1 and latest_puts(d)[0] == 0)
    before = latest_puts(driver)
    # A short load as a client would put it: gets and puts over 200 keys.
    subprocess.run([kvbench, f"--key={key}", "--keys=200", "--read-pct=50", "--ops=4000",
                    "--warmup=0s", "--no-preload"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wait.until(lambda d: (latest_puts(d)[0] or 0) > 0 and latest_puts(d)[1] > before[1])
    # The store is a fraction of a percent full: the fill axis must fit it.
    top = fill_axis_max(driver)
    assert top is not None and top < 0.5, f"the per-stripe fill axis ends at {top}"
    # Read in one script: the page redraws the table on every refresh.
    first_cells = ("return Array.from(document.querySelectorAll('#largest tbody tr'))"
                   ".map((r) => r.cells[0].textContent);")
    wait.until(lambda d: d.execute_script(first_cells))
    names = driver.execute_script(first_cells)
    page = driver.execute_script("return document.body.innerText;")
    if mode == "hidden":
        assert names and all(n == "(hidden)" for n in names), f"key names shown: {names}"
        assert "secret:" not in page, "a key name is on the page without --show-keys"
    else:
        assert any(n.startswith("secret:") for n in names), f"key names hidden: {names}"
    if screenshot:
        driver.save_screenshot(screenshot)
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, f"console errors at {url}: {errors}"


def main():
    key, kvbench, hidden_url, shown_url = sys.argv[1:5]
    screenshot = sys.argv[5] if len(sys.argv) > 5 else ""
    driver = browser()
    try:
        driver.set_page_load_timeout(30)
        check(driver, hidden_url, key, kvbench, "hidden", "")
        check(driver, shown_url, key, kvbench, "shown", screenshot)
    except Exception as error:  # reported as the test's failure
        print(f"{type(error).__name__}: {error}")
        sys.exit(1)
    finally:
        driver.quit()
    print("ok")


if __name__ == "__main__":
    main()
