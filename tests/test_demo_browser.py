"""The web demo in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, which .ci/run installs) through Selenium opens the page, picks a model,
uploads a photo, clicks a style in the gallery, runs it and checks the output image.

A screenshot is saved as a test artifact (``$STYLEZOO_TEST_ARTIFACTS``, default
``test-artifacts/`` in the checkout); with ``STYLEZOO_DOCS_SCREENSHOT=PATH`` it is also
written to PATH, 1000 pixels wide (how docs/gallery/demo.jpg is made). Skipped, saying why,
without a browser.
"""

from __future__ import annotations

import io
import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from demo_server import EXAMPLES, ROOT, running_demo
from PIL import Image

import stylezoo

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
pytest.importorskip("gradio", reason='the demo needs pip install "stylezoo[demo]"')
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (stylezoo[test])")

from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PHOTO = EXAMPLES / "chelsea.jpg"
STYLE_INDEX = 7


def _find(names: tuple[str, ...]) -> str | None:
    return next((path for name in names if (path := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    binary, driver = _find(BROWSERS), _find(("chromedriver",))
    if binary is None or driver is None:
        pytest.skip(
            "no Chromium and chromedriver on PATH (Debian: apt-get install chromium "
            "chromium-driver; .ci/run installs them where it can)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1100",
    ):
        options.add_argument(argument)
    try:
        # An explicit driver: Selenium Manager would try to download one.
        chrome = webdriver.Chrome(service=Service(driver), options=options)
    except WebDriverException as exc:
        pytest.skip(f"Chromium would not start headless: {exc.msg}")
    yield chrome
    chrome.quit()


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    with running_demo(["multistyle/android-26", "arbitrary/magenta"]) as (_, url):
        yield url


def _image_at(url: str) -> Image.Image:
    with urllib.request.urlopen(url, timeout=30) as response:  # the loopback server only
        return Image.open(io.BytesIO(response.read())).convert("RGB")


def test_a_photo_goes_in_a_style_is_picked_and_the_output_appears(
    browser: Any, demo_url: str
) -> None:
    wait = WebDriverWait(browser, 90)
    browser.get(demo_url)

    picker = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "#stylezoo-model input"))
    picker.click()
    entries = wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "[role=option]"))
    next(e for e in entries if "multistyle" in e.text).click()
    wait.until(lambda b: "multistyle/android-26" in b.find_element(By.ID, "stylezoo-card").text)

    upload = browser.find_element(By.CSS_SELECTOR, "#stylezoo-photo input[type=file]")
    upload.send_keys(str(PHOTO))

    def thumbnails(b: Any) -> list[Any] | bool:
        found = b.find_elements(By.CSS_SELECTOR, ".stylezoo-variants img")
        return found if len(found) == 26 else False

    chosen = wait.until(thumbnails)[STYLE_INDEX]
    assert chosen.get_attribute("alt") == f"style {STYLE_INDEX}"
    chosen.find_element(By.XPATH, "./ancestor::button[1]").click()
    wait.until(
        lambda b: any(
            e.get_attribute("value") == str(STYLE_INDEX)
            for e in b.find_elements(By.CSS_SELECTOR, "input[type=number]")
        )
    )

    browser.find_element(By.ID, "stylezoo-run").click()

    def outputs(b: Any) -> list[str] | bool:
        sources = [
            e.get_attribute("src") for e in b.find_elements(By.CSS_SELECTOR, "#stylezoo-result img")
        ]
        return sources if len(sources) == 2 and all(sources) else False

    before, after = wait.until(outputs)
    expected = stylezoo.load("multistyle/android-26").translate(
        Image.open(PHOTO), style=STYLE_INDEX
    )
    assert np.array_equal(np.asarray(_image_at(after)), np.asarray(expected))
    assert _image_at(before).size == Image.open(PHOTO).size

    # The whole page, for the artifact and the docs.
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(int(height) + 40, 3000))
    browser.execute_script("window.scrollTo(0, 0)")
    artifacts = Path(os.environ.get("STYLEZOO_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "demo-browser.png"
    assert browser.save_screenshot(str(shot)), "no screenshot"
    assert Image.open(shot).size[0] >= 1000
    docs_copy = os.environ.get("STYLEZOO_DOCS_SCREENSHOT")
    if docs_copy:  # 1000 pixels wide, as the docs show it
        page = Image.open(shot).convert("RGB")
        page.thumbnail((1000, 3000), Image.Resampling.LANCZOS)
        page.save(docs_copy, quality=85)
