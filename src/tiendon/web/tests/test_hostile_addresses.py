"""A NUL byte in an address, logged in or not, is a 400 with its reason, never a 500 (on
PostgreSQL it used to reach a query: `/pki/directory/%00/`, `/pki/crl/%00.crl`)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "address",
    [
        "/pki/directory/%00/",
        "/pki/crl/%00.crl",
        "/documents/search/?q=a%00b",
        "/documents/incoming/1%00/",
        "/units/%00/",
    ],
)
def test_a_nul_in_the_address_is_refused_with_its_reason(address: str, tree: Any) -> None:
    anonymous, clerk = Client(), Client()
    clerk.force_login(tree.clerk_a)
    for client in (anonymous, clerk):
        response = client.get(address)
        assert response.status_code == 400
        assert "nul_byte" in response.content.decode()
        assert "NUL" in response.content.decode()


def test_ordinary_addresses_still_answer(tree: Any) -> None:
    client = Client()
    client.force_login(tree.clerk_a)
    assert client.get("/documents/search/", {"q": "huấn luyện"}).status_code == 200
