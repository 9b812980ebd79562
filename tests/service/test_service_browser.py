"""The search page in a real browser: Debian's chromium, headless, driven by Selenium.

``textmanifold serve`` runs as a subprocess on a free loopback port (``live_server``). The
test types a sentence, waits for both rankings, clicks a result and checks the path view
against the library's own path for that result; then it reloads the page from its URL
(shareable state), searches from the result, and uploads an image. A screenshot is saved
in the test's tmp directory. Under CI (``CI`` set) a missing browser fails the test;
elsewhere it skips.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL = "sudo apt-get install chromium chromium-driver"
SENTENCE = "there is a red circle at the middle left, a blue square at the middle right."
WAIT = 60  # seconds; generous: CI machines are slow and shared


def _browser_or_skip():
    """Selenium's webdriver module, or skip (fail under CI) saying how to install it."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    try:
        from selenium import webdriver
    except ImportError:
        webdriver, missing = None, [*missing, "selenium (pip install 'textmanifold[serve]')"]
    if missing:
        message = (f"browser test needs {', '.join(missing)}; on Debian/Ubuntu: {INSTALL}")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return webdriver


@pytest.fixture
def browser():
    webdriver = _browser_or_skip()
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,1000", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver, condition):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,)
                         ).until(condition)


def _ranking(driver, which: str) -> list[str]:
    """The ids of one ranking's cards, in order (read in one script: no stale elements)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), c => c.dataset.id)",
        f"#{which}-results .card")


def _path_view(driver) -> list[tuple[str, str]]:
    """(kind, id) of every step the page shows, in order."""
    return [tuple(x) for x in driver.execute_script(
        "return Array.from(document.querySelectorAll('#path .step'),"
        " s => [s.dataset.kind, s.dataset.id])")]


def _wait_for_path(driver, n_steps: int) -> list[tuple[str, str]]:
    from selenium.webdriver.common.by import By

    _wait(driver, lambda d: d.find_element(By.ID, "path-view").is_displayed()
          and len(_path_view(d)) == n_steps)
    return _path_view(driver)


def test_search_click_path_and_shareable_url(browser, live_server, tiny_index, tmp_path):
    from selenium.webdriver.common.by import By

    want = tiny_index.search(text=SENTENCE, k=10, metric="both", return_paths=True)
    # the result with the longest path: the one whose explanation shows most
    chosen = max((h for h in want.geodesic if h.path), key=lambda h: len(h.path))
    kinds = [s.kind for s in chosen.path]
    assert "text" in kinds, "the tiny index should route this query through a sentence"

    browser.get(live_server + "/")
    _wait(browser, lambda d: "images" in d.find_element(By.ID, "stats").text)
    box = browser.find_element(By.ID, "query-text")
    box.send_keys(SENTENCE)
    browser.find_element(By.ID, "search-button").click()
    _wait(browser, lambda d: len(_ranking(d, "geodesic")) == 10)
    assert _ranking(browser, "geodesic") == [h.id for h in want.geodesic]  # side by side
    assert _ranking(browser, "euclidean") == [h.id for h in want.euclidean]

    browser.find_element(By.CSS_SELECTOR,
                         f'#geodesic-results .card[data-id="{chosen.id}"]').click()
    shown = _wait_for_path(browser, len(chosen.path))
    assert shown == [(s.kind, s.id) for s in chosen.path]
    assert sum(k == "image" for k, _ in shown) == kinds.count("image")
    assert sum(k == "text" for k, _ in shown) == kinds.count("text")
    summary = browser.find_element(By.ID, "path-summary").text
    n_images, n_texts = kinds.count("image"), kinds.count("text")
    assert (f"{n_images} image{'s' * (n_images != 1)} · "
            f"{n_texts} sentence{'s' * (n_texts != 1)}") in summary
    browser.save_screenshot(str(tmp_path / "serve_page.png"))
    if os.environ.get("TEXTMANIFOLD_SCREENSHOT"):  # to refresh docs/serve_page.png
        shutil.copyfile(tmp_path / "serve_page.png", os.environ["TEXTMANIFOLD_SCREENSHOT"])

    # the state is in the URL: opening the link shows the same query, results and path
    state = parse_qs(urlparse(browser.current_url).query)
    assert state["text"] == [SENTENCE] and state["sel"] == [chosen.id]
    browser.get(browser.current_url)
    assert _wait_for_path(browser, len(chosen.path)) == shown
    assert browser.find_element(By.ID, "query-text").get_attribute("value") == SENTENCE

    # search from the selected result: an id query, its ranking the library's
    browser.find_element(By.ID, "search-from").click()
    _wait(browser, lambda d: parse_qs(urlparse(d.current_url).query).get("id") == [chosen.id])
    by_id = tiny_index.search(id=chosen.id, k=10, metric="both")
    _wait(browser, lambda d: _ranking(d, "geodesic") == [h.id for h in by_id.geodesic])

    # upload an image: the browser sends it as base64; the ranking is the library's
    upload = tiny_index.image_path(by_id.geodesic[-1].id)
    by_image = tiny_index.search(image=upload, k=10, metric="both")
    browser.find_element(By.ID, "query-image").send_keys(str(upload))
    _wait(browser, lambda d: _ranking(d, "geodesic") == [h.id for h in by_image.geodesic])
    assert parse_qs(urlparse(browser.current_url).query).get("upload") == ["1"]
    assert (tmp_path / "serve_page.png").stat().st_size > 10_000


@pytest.mark.parametrize("missing", [("CHROMIUM",), ("CHROMEDRIVER",),
                                     ("CHROMIUM", "CHROMEDRIVER")])
def test_a_missing_browser_fails_under_ci_and_skips_elsewhere(monkeypatch, missing):
    # Whatever this machine has: the other program is made present (this interpreter
    # stands in for it), the missing ones absent, so the message is known exactly.
    module = sys.modules[__name__]
    for name in ("CHROMIUM", "CHROMEDRIVER"):
        monkeypatch.setattr(module, name, f"/nonexistent/{name.lower()}" if name in missing
                            else sys.executable)
    named = ", ".join(f"/nonexistent/{name.lower()}" for name in missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception,
                       match=f"browser test needs {named}(, selenium.*)?; on Debian/Ubuntu"):
        _browser_or_skip()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium chromium-driver"):
        _browser_or_skip()
