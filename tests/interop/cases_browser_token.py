"""The map page against a server that wants a bearer token: the first call fails with
UNAUTHENTICATED, the page asks for the token once, and every later call carries it.
"""

import os

import rgmodel
from browser import Browser
from harness import case, check, check_eq

TOKEN = "browser-interop-token"


@case("browser_asks_for_a_token_once_and_sends_it", timeout=90)
def token(ctx):
    tokens = os.path.join(ctx.tmpdir, "browser-tokens.txt")
    with open(tokens, "w") as file:
        file.write(f"# the map page's token\n{TOKEN}\n")
    server = ctx.our_server("--auth-token-file", tokens)
    browser = Browser(ctx, server.addr)
    first = browser.open()
    check_eq(first["state"], "error", "without a token the first listing fails")
    check(browser.text("error").startswith("UNAUTHENTICATED: "), "the status is shown",
          browser.text("error"))
    check(browser.visible("token-form"), "the page asks for a token")

    browser.type_into("token", "not-the-token")
    browser.driver.find_element("css selector", "#token-form button").click()
    wrong = browser.listing(after=int(first["query"]))
    check_eq(wrong["state"], "error", "a wrong token is refused")
    check(browser.visible("token-form"), "the page asks again")

    browser.type_into("token", TOKEN)
    browser.driver.find_element("css selector", "#token-form button").click()
    listed = browser.listing(after=int(wrong["query"]))
    check_eq(listed["state"], "done", "with the token the view is listed")
    check_eq(len(browser.listed()), 100, "every feature of the database is in the first view")
    check(not browser.visible("token-form"), "the token form is gone")
    # A later call (a click's GetFeature) carries the token too.
    x, y = browser.pixel(*rgmodel.BERKSHIRE)
    browser.click_map(x, y)
    shown = browser.wait("the click's GetFeature answers",
                         lambda: (d := browser.dataset("selected")).get("state") not in ("idle", "loading") and d)
    check_eq(shown["state"], "feature", "GetFeature with the token finds the feature")
    browser.check_only_local()
