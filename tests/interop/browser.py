"""Headless Chromium for the map page cases (cases_browser.py): Debian's chromium and
chromium-driver packages driven by selenium, never a browser download.

Each session has a fresh profile and the flags that keep Chromium off the network; no host
name resolves (127.0.0.1 is reached by address), and every request the page makes is read
from the DevTools performance log, so a case can check that none left 127.0.0.1.
"""

import json
import os
import shutil
import tempfile
from urllib.parse import urlsplit

from harness import CheckFailed, Skipped, check

CHROMIUM = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
CHROMEDRIVER = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Every host name fails to resolve: a request meant for the internet cannot leave.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,800", "--lang=en-US",
]
INSTALL_HINT = "apt-get install -y chromium chromium-driver (Debian's packages; .ci/run does it)"
# Selenium Manager must neither download drivers nor send usage statistics.
os.environ.setdefault("SE_OFFLINE", "true")
os.environ.setdefault("SE_AVOID_STATS", "true")


def _first_executable(paths, name):
    found = [p for p in paths if os.access(p, os.X_OK)] or [shutil.which(name)]
    return found[0] if found[0] else None


class Browser:
    """One headless Chromium session on the page of the server at `addr` (host:port)."""

    def __init__(self, ctx, addr):
        binary = _first_executable(CHROMIUM, "chromium")
        driver_path = _first_executable(CHROMEDRIVER, "chromedriver")
        if binary is None or driver_path is None:
            raise Skipped(f"no chromium or chromedriver: {INSTALL_HINT}")
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="interop-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in FLAGS + [f"--user-data-dir={self.profile}"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(driver_path), options=options)
        ctx.track(self)
        self.base = f"http://{addr}"
        self.urls = []
        self.console = []

    def close(self):
        if self.driver is not None:
            self.driver.quit()
            self.driver = None
        shutil.rmtree(self.profile, ignore_errors=True)

    # Page access.

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, description, condition, timeout=20):
        """Waits until condition() is truthy (polling the page); returns its value."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(lambda _: condition())
        except TimeoutException:
            raise CheckFailed(f"{description}: still not so after {timeout}s") from None

    def dataset(self, element_id):
        return self.js("return Object.assign({}, document.getElementById(arguments[0]).dataset)",
                       element_id)

    def text(self, element_id):
        return self.js("return document.getElementById(arguments[0]).textContent", element_id)

    def visible(self, element_id):
        return self.js("return !document.getElementById(arguments[0]).hidden", element_id)

    def open(self):
        """Loads the page; returns the dataset of its first finished listing."""
        self.driver.get(self.base + "/")
        return self.listing(after=0)

    def listing(self, after):
        """Waits for a listing newer than query number `after` to finish; returns its dataset."""
        def finished():
            data = self.dataset("features")
            done = data.get("state") in ("done", "error") and int(data.get("query", "0")) > after
            return data if done else None
        return self.wait(f"a feature listing after query {after} finishes", finished)

    def listed(self):
        """Returns the side panel's features as (latitude, longitude, name), in list order."""
        rows = self.js("return Array.from(document.querySelectorAll('#feature-list li'))"
                       ".map(li => [li.dataset.lat, li.dataset.lon, li.dataset.name])")
        return [(int(lat), int(lon), name) for lat, lon, name in rows]

    # The map, in container pixels.

    def pixel(self, latitude, longitude):
        """Returns where the point is drawn, in pixels from the map's top left."""
        x, y = self.js("const p = routeguideMap.latLngToContainerPoint([arguments[0], arguments[1]]);"
                       "return [p.x, p.y]", latitude / 1e7, longitude / 1e7)
        return x, y

    def map_size(self):
        return tuple(self.js("const s = routeguideMap.getSize(); return [s.x, s.y]"))

    def _at(self, actions, x, y):
        width, height = self.map_size()
        element = self.driver.find_element("id", "map")
        return actions.move_to_element_with_offset(element, round(x - width / 2), round(y - height / 2))

    def click_map(self, x, y):
        from selenium.webdriver.common.action_chains import ActionChains
        self._at(ActionChains(self.driver), x, y).click().perform()

    def marker_at(self, x, y):
        """Says whether a feature marker is drawn at the pixel."""
        return self.js("const r = document.getElementById('map').getBoundingClientRect();"
                       "const e = document.elementFromPoint(r.left + arguments[0], r.top + arguments[1]);"
                       "return !!e && e.tagName === 'path' && e.classList.contains('leaflet-interactive')",
                       x, y)

    def shift_drag(self, start, end, release=True):
        """Drags from `start` to `end` (pixels) with Shift held; releases unless told not to."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys
        actions = self._at(ActionChains(self.driver).key_down(Keys.SHIFT), *start).click_and_hold()
        steps = 4
        for _ in range(steps):
            actions.move_by_offset(round((end[0] - start[0]) / steps), round((end[1] - start[1]) / steps))
        if release:
            actions.release().key_up(Keys.SHIFT)
        actions.perform()

    def release_mouse(self):
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys
        ActionChains(self.driver).release().key_up(Keys.SHIFT).perform()

    def press_escape(self):
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys
        ActionChains(self.driver).send_keys(Keys.ESCAPE).perform()

    def click(self, element_id):
        self.driver.find_element("id", element_id).click()

    def type_into(self, element_id, text):
        element = self.driver.find_element("id", element_id)
        element.clear()
        element.send_keys(text)

    # What the page did.

    def _read_logs(self):
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                self.urls.append(message["params"]["request"]["url"])
            elif message["method"] == "Network.webSocketCreated":
                self.urls.append(message["params"]["url"])
        self.console.extend(self.driver.get_log("browser"))

    def check_only_local(self):
        """Fails unless every request of the page went to 127.0.0.1 (browser-internal
        chrome:, data: and about: URLs aside); returns the URLs asked for."""
        self._read_logs()
        web = [u for u in self.urls if urlsplit(u).scheme in ("http", "https", "ws", "wss", "ftp")]
        outside = [u for u in web if urlsplit(u).hostname != "127.0.0.1"]
        check(not outside, "the page asks for nothing outside 127.0.0.1", outside[:10])
        others = [u for u in self.urls if urlsplit(u).scheme not in
                  ("http", "https", "ws", "wss", "ftp", "chrome", "data", "about", "blob")]
        check(not others, "the page uses no other URL scheme", others[:10])
        return web

    def console_errors(self):
        """Returns the page's console errors (content security policy violations among them)."""
        self._read_logs()
        return [e["message"] for e in self.console if e.get("level") == "SEVERE"]

    def screenshot(self, path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        check(self.driver.save_screenshot(path), f"the screenshot is saved to {path}")
