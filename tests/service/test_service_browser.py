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

from _service_fixtures import serving

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
        message = f"browser test needs {', '.join(missing)}; on Debian/Ubuntu: {INSTALL}"
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
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--force-device-scale-factor=1",
    ):
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

    return WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(
        condition
    )


def _ranking(driver, which: str) -> list[str]:
    """The ids of one ranking's cards, in order (read in one script: no stale elements)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), c => c.dataset.id)",
        f"#{which}-results .card",
    )


def _path_view(driver) -> list[tuple[str, str]]:
    """(kind, id) of every step the page shows, in order."""
    return [
        tuple(x)
        for x in driver.execute_script(
            "return Array.from(document.querySelectorAll('#path .step'),"
            " s => [s.dataset.kind, s.dataset.id])"
        )
    ]


def _wait_for_path(driver, n_steps: int) -> list[tuple[str, str]]:
    from selenium.webdriver.common.by import By

    _wait(
        driver,
        lambda d: (
            d.find_element(By.ID, "path-view").is_displayed() and len(_path_view(d)) == n_steps
        ),
    )
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

    browser.find_element(By.CSS_SELECTOR, f'#geodesic-results .card[data-id="{chosen.id}"]').click()
    shown = _wait_for_path(browser, len(chosen.path))
    assert shown == [(s.kind, s.id) for s in chosen.path]
    assert sum(k == "image" for k, _ in shown) == kinds.count("image")
    assert sum(k == "text" for k, _ in shown) == kinds.count("text")
    summary = browser.find_element(By.ID, "path-summary").text
    n_images, n_texts = kinds.count("image"), kinds.count("text")
    assert (
        f"{n_images} image{'s' * (n_images != 1)} · {n_texts} sentence{'s' * (n_texts != 1)}"
    ) in summary
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


def _cards(driver, which: str) -> list[dict]:
    """Each card of a ranking: id, caption, whether it carries the rank-moved mark."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), c => ({id: c.dataset.id,"
        " caption: (c.querySelector('.caption') || {}).textContent || null,"
        " moved: c.dataset.moved === '1'}))",
        f"#{which}-results .card",
    )


def _hops(driver) -> list[float]:
    return [
        float(x)
        for x in driver.execute_script(
            "return Array.from(document.querySelectorAll('#path .hop'), h => h.dataset.angle)"
        )
    ]


def _ready(driver, url):
    from selenium.webdriver.common.by import By

    driver.get(url + "/")
    _wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))


def test_captions_rank_marks_hop_angles_and_keyboard(browser, live_server, tiny_index):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    want = tiny_index.search(text=SENTENCE, k=10, metric="both", return_paths=True)
    _ready(browser, live_server)
    assert browser.find_element(By.ID, "modify-label").is_displayed() is False  # a joint run
    browser.find_element(By.ID, "query-text").send_keys(SENTENCE + Keys.ENTER)
    _wait(browser, lambda d: len(_ranking(d, "geodesic")) == 10)
    cards = _cards(browser, "geodesic")
    euclid = {h.id: h.rank for h in want.euclidean}
    for shown, hit in zip(cards, want.geodesic, strict=True):
        assert shown["id"] == hit.id
        assert shown["caption"] == tiny_index.item(hit.id)["text"]
        assert shown["moved"] == (euclid.get(hit.id) != hit.rank)
    assert any(c["moved"] for c in cards)  # the two rankings differ somewhere

    # keyboard only: Tab to the first card, arrows to the third, Enter opens its path
    first = browser.find_element(By.CSS_SELECTOR, "#geodesic-results .card")
    first.send_keys("")  # focus
    browser.execute_script("arguments[0].focus()", first)
    active = browser.switch_to.active_element
    active.send_keys(Keys.ARROW_RIGHT)
    browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    focused = browser.switch_to.active_element.get_attribute("data-id")
    assert focused == want.geodesic[2].id
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    chosen = want.geodesic[2]
    if chosen.path:
        shown = _wait_for_path(browser, len(chosen.path))
        assert shown == [(s.kind, s.id) for s in chosen.path]
        hops = _hops(browser)
        assert hops == pytest.approx([s.angle for s in chosen.path[1:]], abs=1e-9)
        assert sum(hops) == pytest.approx(chosen.geodesic, abs=1e-9)
        assert "totalling" in browser.find_element(By.ID, "path-summary").text
    assert parse_qs(urlparse(browser.current_url).query)["sel"] == [chosen.id]


def test_an_unreachable_result_list_says_why(browser, live_server, tiny_index):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    candidates = ["a red circle", "zebra", "purple", "the moon at night", "a cube"]
    query, lost = next(
        (
            (q, n)
            for q in candidates
            if (n := sum(not h.reachable for h in tiny_index.search(text=q, k=10).geodesic))
        ),
        (None, 0),
    )
    assert query is not None, "one of the sentences should leave results unreachable"
    _ready(browser, live_server)
    browser.find_element(By.ID, "query-text").send_keys(query + Keys.ENTER)
    _wait(browser, lambda d: d.find_element(By.ID, "unreachable-note").is_displayed())
    note = browser.find_element(By.ID, "unreachable-note").text
    assert "no path within the threshold — shown by angle instead" in note
    assert ("None of the 10 results" in note) if lost == 10 else (f"{lost} result" in note)
    assert _ranking(browser, "geodesic") == [
        h.id for h in tiny_index.search(text=query, k=10).geodesic
    ]


def test_a_composed_query_from_an_upload_and_from_a_result(
    browser, compose_index_dir, compose_index, tmp_path
):
    from selenium.webdriver.common.by import By

    modify = "make the red circle blue"
    with serving(compose_index_dir, tmp_path / "serve.log") as url:
        _ready(browser, url)
        assert browser.find_element(By.ID, "modify-label").is_displayed()
        browser.find_element(By.ID, "query-modify").send_keys(modify)
        upload = compose_index.image_path("img0002")
        want = compose_index.search(
            image=upload, modify=modify, k=10, metric="both", return_paths=True
        )
        browser.find_element(By.ID, "query-image").send_keys(str(upload))
        _wait(browser, lambda d: _ranking(d, "geodesic") == [h.id for h in want.geodesic])
        assert _ranking(browser, "euclidean") == [h.id for h in want.euclidean]
        assert parse_qs(urlparse(browser.current_url).query)["modify"] == [modify]
        assert "modified by" in browser.find_element(By.ID, "query-card").text
        chosen = max(want.geodesic, key=lambda h: len(h.path or []))
        browser.find_element(
            By.CSS_SELECTOR, f'#geodesic-results .card[data-id="{chosen.id}"]'
        ).click()
        if chosen.path:
            assert _wait_for_path(browser, len(chosen.path)) == [
                (s.kind, s.id) for s in chosen.path
            ]
        else:  # a composed query far from every vertex: the page says so
            _wait(
                browser,
                lambda d: (
                    "no path within the threshold" in d.find_element(By.ID, "path-summary").text
                ),
            )
        browser.set_window_size(1280, 1400)  # the query, both rankings and the path
        browser.save_screenshot(str(tmp_path / "composed.png"))
        if os.environ.get("TEXTMANIFOLD_SCREENSHOT_COMPOSED"):
            shutil.copyfile(
                tmp_path / "composed.png", os.environ["TEXTMANIFOLD_SCREENSHOT_COMPOSED"]
            )
        # from the selected result, with the same modification: an id + modify query
        browser.find_element(By.ID, "search-from").click()
        from_id = compose_index.search(id=chosen.id, modify=modify, k=10, metric="both")
        _wait(browser, lambda d: _ranking(d, "geodesic") == [h.id for h in from_id.geodesic])
        state = parse_qs(urlparse(browser.current_url).query)
        assert state["id"] == [chosen.id] and state["modify"] == [modify]


def test_errors_are_shown_in_the_error_style(browser, live_server):
    from selenium.webdriver.common.by import By

    _ready(browser, live_server)
    browser.find_element(By.ID, "search-button").click()  # nothing typed
    status = browser.find_element(By.ID, "status")
    assert "error" in status.get_attribute("class") and "type a sentence" in status.text
    browser.get(live_server + "/?id=no-such-item")
    _wait(browser, lambda d: "unknown id" in d.find_element(By.ID, "status").text)
    assert "error" in browser.find_element(By.ID, "status").get_attribute("class")


@pytest.mark.parametrize(
    "missing", [("CHROMIUM",), ("CHROMEDRIVER",), ("CHROMIUM", "CHROMEDRIVER")]
)
def test_a_missing_browser_fails_under_ci_and_skips_elsewhere(monkeypatch, missing):
    # Whatever this machine has: the other program is made present (this interpreter
    # stands in for it), the missing ones absent, so the message is known exactly.
    module = sys.modules[__name__]
    for name in ("CHROMIUM", "CHROMEDRIVER"):
        monkeypatch.setattr(
            module, name, f"/nonexistent/{name.lower()}" if name in missing else sys.executable
        )
    named = ", ".join(f"/nonexistent/{name.lower()}" for name in missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(
        pytest.fail.Exception, match=f"browser test needs {named}(, selenium.*)?; on Debian/Ubuntu"
    ):
        _browser_or_skip()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium chromium-driver"):
        _browser_or_skip()
