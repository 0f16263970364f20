"""Every page reachable from the side navigation, and every page those link to, walked as
each kind of person (administrator, clerk, commander, staff officer; ministry, province and
commune), in Vietnamese: each answers 200, shows no English sentence of our catalogues and
no bare error code, and a GET writes nothing but the session and the audit trail."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages import pofile
from conftest import log_in_with_totp
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tiendon.units.actions import do_create_person
from tiendon.units.models import Role

pytestmark = pytest.mark.django_db

SRC = Path(__file__).resolve().parents[3]
# Pages a walk must not follow: leaving, switching language, the Django admin's own
# screens (Django's catalogue), downloads that change nothing but are large.
SKIP = re.compile(r"^/(i18n|logout|admin/|static/)|\.(pdf|xlsx|zip|crl|csv)$")
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.I)
ALLOWED_WRITES = re.compile(r'"(django_session|audit_[a-z_]+)"|\b(django_session|audit_\w+)\b')
BARE_CODE = re.compile(r"^\(?[a-z]+(_[a-z]+)+\)?$")


class Page(HTMLParser):
    """The links, the side navigation's links, the messages and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.nav: list[str] = []
        self.messages: list[str] = []
        self.text: list[str] = []
        self._in_nav = 0
        self._in_msg = False
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "nav" and attr.get("id") == "sidenav":
            self._in_nav = 1
        if tag == "a" and attr.get("href"):
            href = str(attr["href"]).split("#")[0]
            (self.nav if self._in_nav else self.links).append(href)
        if tag == "li" and "msg" in (attr.get("class") or ""):
            self._in_msg = True
            self.messages.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        if tag == "nav":
            self._in_nav = 0
        if tag == "li":
            self._in_msg = False

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._in_msg:
            self.messages[-1] += data


def english_sentences() -> set[str]:
    """Our catalogues' source sentences (three words or more, no placeholders): one of them
    on a Vietnamese page is a string that escaped translation."""
    found = set()
    for po in SRC.glob("**/locale/vi/LC_MESSAGES/django.po"):
        with po.open("rb") as handle:
            for message in pofile.read_po(handle):
                text = message.id if isinstance(message.id, str) else message.id[0]
                if text and len(text.split()) >= 3 and "%" not in text and "{" not in text:
                    found.add(text)
    return found


@pytest.fixture
def people(tree: Any, board: Any, province_board: Any, ministry_board: Any) -> list[Any]:
    """One of each role, with something in their queues: a document the province sent to
    the commune, taken in; a draft waiting on the commune's commander."""
    from tiendon.documents.tests.conftest import in_review, taken_in
    from tiendon.documents.tests.test_flow import issue_to

    sent = issue_to(province_board, [{"unit": tree.commune_a.code}])
    taken_in(tree.clerk_a, sent.envelope_id)
    in_review(board)
    staff = do_create_person(
        username="cb.dongtien",
        full_name="Ngô Văn Cường",
        unit=tree.commune_a,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
    )
    return [tree.ministry_admin, province_board.clerk, tree.clerk_a, tree.commander_a, staff]


def test_every_page_from_the_navigation_answers_in_vietnamese_and_reads_only(
    people: list[Any],
) -> None:
    english = english_sentences()
    assert len(english) > 100
    problems: list[str] = []
    walked = 0
    for person in people:
        client = log_in_with_totp(Client(), person)
        client.cookies["django_language"] = "vi"
        home = Page()
        home.feed(client.get("/").content.decode())
        assert home.nav, f"{person.username}: no side navigation"
        todo = list(dict.fromkeys(home.nav))
        seen: set[str] = set()
        while todo and len(seen) < 40:
            url = todo.pop(0)
            if url in seen or not url.startswith("/") or SKIP.search(url):
                continue
            seen.add(url)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            walked += 1
            where = f"{person.username} {url}"
            if response.status_code != 200:
                problems.append(f"{where}: HTTP {response.status_code}")
                continue
            writes = [
                q["sql"][:120]
                for q in captured.captured_queries
                if WRITES.match(q["sql"]) and not ALLOWED_WRITES.search(q["sql"])
            ]
            if writes:
                problems.append(f"{where}: a GET wrote {writes}")
            if not response.get("Content-Type", "").startswith("text/html"):
                continue
            page = Page()
            page.feed(response.content.decode())
            text = " ".join(" ".join(page.text).split())
            problems += [f"{where}: untranslated {s!r}" for s in english if s in text]
            problems += [
                f"{where}: bare code {m!r}" for m in page.messages if BARE_CODE.match(m.strip())
            ]
            if url in home.nav:  # one level below the navigation
                todo += [link for link in page.links if link not in seen]
    assert walked > 40
    assert problems == [], "\n".join(problems)
