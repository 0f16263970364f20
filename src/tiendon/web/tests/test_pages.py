"""The shell's pages: home per role, unit pages, scope refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import log_in_with_totp
from django.urls import reverse

from tiendon.audit.models import AuditRecord


def _login(client, person):
    if person.role in ("commander", "admin"):  # they work with a second factor only
        log_in_with_totp(client, person)
        return
    client.force_login(person)
    session = client.session
    session["otp_verified"] = True
    session.save()


@pytest.mark.django_db
def test_commune_clerk_home_shows_unit_name_province_and_chain(client, tree):
    _login(client, tree.clerk_a)
    page = client.get(reverse("home")).content.decode()
    assert "Ban Chỉ huy Quân sự phường Đông Tiến" in page
    assert "Thanh Hóa" in page
    for unit in (tree.ministry, tree.region, tree.province):
        assert unit.name in page


@pytest.mark.django_db
def test_pages_are_in_vietnamese_by_default(client, tree):
    _login(client, tree.clerk_a)
    page = client.get(reverse("home")).content.decode()
    assert 'lang="vi"' in page
    assert "Đăng xuất" in page


@pytest.mark.django_db
def test_clerk_of_commune_a_cannot_open_commune_b_and_the_attempt_is_audited(client, tree):
    _login(client, tree.clerk_a)
    response = client.get(reverse("unit_detail", args=[tree.commune_b.code]))
    assert response.status_code == 404
    denial = AuditRecord.objects.filter(action="permission.denied").get()
    assert denial.actor_id == tree.clerk_a.pk
    assert denial.object_id == tree.commune_b.code


@pytest.mark.django_db
def test_commune_clerk_cannot_open_the_province_above(client, tree):
    _login(client, tree.clerk_a)
    assert client.get(reverse("unit_detail", args=[tree.province.code])).status_code == 404


@pytest.mark.django_db
def test_a_unit_that_does_not_exist_looks_the_same_as_one_out_of_scope(client, tree):
    _login(client, tree.clerk_a)
    missing = client.get(reverse("unit_detail", args=["99999"]))
    hidden = client.get(reverse("unit_detail", args=[tree.commune_b.code]))
    assert missing.status_code == hidden.status_code == 404

    def body(response, code):
        text = response.content.decode().replace(code, "X")
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)

    assert body(missing, "99999") == body(hidden, tree.commune_b.code)


@pytest.mark.django_db
def test_province_commander_sees_communes_below_in_vietnamese_order(client, tree):
    _login(client, tree.province_commander)
    page = client.get(reverse("unit_detail", args=[tree.province.code])).content.decode()
    assert tree.commune_a.name in page
    assert tree.commune_b.name not in page


@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_login(client, tree):
    response = client.get(reverse("unit_detail", args=[tree.commune_a.code]))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.django_db
def test_english_is_available(client, tree):
    _login(client, tree.clerk_a)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("home")).content.decode()
    assert 'lang="en"' in page
    assert "Log out" in page


@pytest.mark.django_db
def test_home_page_first_load_stays_under_200_kb_with_nothing_from_outside(client, tree):
    from django.contrib.staticfiles import finders

    _login(client, tree.province_commander)
    html = client.get(reverse("home")).content.decode()
    total = len(html.encode())
    for url in re.findall(r'(?:href|src)="([^"]+)"', html):
        assert not url.startswith(("http:", "https:", "//")), f"external resource {url}"
        if url.startswith("/static/"):
            path = finders.find(url.removeprefix("/static/"))
            assert path, f"missing static file {url}"
            total += Path(path).stat().st_size
    assert total < 200 * 1024
