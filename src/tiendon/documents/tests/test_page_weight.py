"""Page weight in Debian's Chromium (issue 13, must-show 5): every page of the side
navigation, and a received document's page with its reader, loaded on a cold cache at
390 px, counting every byte Chromium fetches as it came over the wire (the DevTools
protocol's encoded length: compressed where the server compresses). Under 200 KB each; a
reading page may add its pictures (up to 600 KB more). Each fits a phone's width."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PASSWORD

from tiendon.documents.models import IncomingDocument
from tiendon.documents.tests.conftest import apart_from_the_browser
from tiendon.documents.tests.test_flow import issue_to
from tiendon.exchange import dispatch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
BUDGET = 200_000
READER_EXTRA = 600_000


def cold_load(browser: Any, base: str, person: Any, path: str) -> tuple[int, int]:
    """Bytes fetched on a cold cache to show `path` after logging in, and the page's width."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", person.username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector(".topbar")
    fetched = [0]
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    cdp.on(
        "Network.loadingFinished",
        lambda event: fetched.__setitem__(0, fetched[0] + int(event["encodedDataLength"])),
    )
    page.goto(f"{base}{path}", wait_until="networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    context.close()
    return fetched[0], width


def test_every_page_of_the_navigation_is_light_on_a_cold_cache(
    live_server: Any, browser: Any, tree: Any, board: Any, province_board: Any
) -> None:
    def send() -> None:
        issue_to(province_board, [{"unit": tree.commune_a.code}])
        dispatch.run_until_idle()

    apart_from_the_browser(send)
    incoming = IncomingDocument.objects.get(unit=tree.commune_a)
    base = live_server.url
    from tiendon import shell

    paths = [link.url for link in shell.navigation(tree.clerk_a, {})]
    assert len(paths) >= 8
    weights = {}
    for path in paths:
        weights[path], width = cold_load(browser, base, tree.clerk_a, path)
        assert width <= 390, path
    reading = f"/documents/incoming/{incoming.pk}/"
    weights[reading], width = cold_load(browser, base, tree.clerk_a, reading)
    assert width <= 390
    print({path: round(n / 1000, 1) for path, n in weights.items()})
    heavy = {p: n for p, n in weights.items() if n >= BUDGET and p != reading}
    assert heavy == {}
    assert weights[reading] < BUDGET + READER_EXTRA
