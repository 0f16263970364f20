"""Case files (hồ sơ công việc): creating them, putting documents in with their ordinals,
and the scope checks (another unit's case files and documents are out of reach)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tiendon.audit.models import AuditRecord
from tiendon.documents.drafting.actions import do_create_draft
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import DocumentType, Secrecy
from tiendon.documents.search import casefiles
from tiendon.errors import InvalidInput, OutOfScope


def _draft(person: Any, signer: Any, subject: str, **extra: Any) -> Any:
    return do_create_draft(
        person,
        doc_type=DocumentType.BAO_CAO,
        subject=subject,
        body="Nội dung.",
        signer=signer,
        **extra,
    )


def test_documents_go_into_a_case_file_in_order(tree: Any) -> None:
    case_file = casefiles.do_create_case_file(
        tree.clerk_a, code="2027.01.TM", title="Hồ sơ huấn luyện dân quân năm 2027", year=2027
    )
    first = _draft(tree.clerk_a, tree.commander_a, "Báo cáo kết quả huấn luyện đợt 1")
    second = _draft(tree.clerk_a, tree.commander_a, "Báo cáo kết quả huấn luyện đợt 2")
    casefiles.do_add_to_case_file(case_file, first, tree.clerk_a)
    casefiles.do_add_to_case_file(case_file, second, tree.commander_a)
    assert [(n, d.pk) for n, d in casefiles.documents_in(tree.clerk_a, case_file)] == [
        (1, first.pk),
        (2, second.pk),
    ]
    assert casefiles.case_files_of(tree.clerk_a, first) == [case_file]
    with pytest.raises(DocumentError) as again:
        casefiles.do_add_to_case_file(case_file, first, tree.clerk_a)
    assert again.value.code == "already_in_case_file"
    assert AuditRecord.objects.filter(action="documents.case_file_document_added").count() == 2
    assert case_file.keeper == tree.clerk_a


def test_a_document_taken_out_leaves_the_others_numbered_without_a_gap(tree: Any) -> None:
    case_file = casefiles.do_create_case_file(
        tree.clerk_a, code="2027.03.TM", title="Hồ sơ tuyển quân năm 2027", year=2027
    )
    documents = [
        _draft(tree.clerk_a, tree.commander_a, f"Báo cáo tuyển quân đợt {n}") for n in (1, 2, 3)
    ]
    for document in documents:
        casefiles.do_add_to_case_file(case_file, document, tree.clerk_a)

    casefiles.do_remove_from_case_file(case_file, documents[0], tree.clerk_a)

    assert [(n, d.pk) for n, d in casefiles.documents_in(tree.clerk_a, case_file)] == [
        (1, documents[1].pk),
        (2, documents[2].pk),
    ]
    assert documents[2].metadata()["ordinal"] == 2
    assert documents[0].metadata()["file_code"] == ""
    (record,) = AuditRecord.objects.filter(action="documents.case_file_document_removed")
    assert record.old["ordinal"] == 1
    with pytest.raises(DocumentError) as again:
        casefiles.do_remove_from_case_file(case_file, documents[0], tree.clerk_a)
    assert again.value.code == "not_in_case_file"
    with pytest.raises(OutOfScope):
        casefiles.do_remove_from_case_file(case_file, documents[1], tree.clerk_b)
    assert len(casefiles.documents_in(tree.clerk_a, case_file)) == 2


def test_bad_case_file_input_is_refused(tree: Any) -> None:
    casefiles.do_create_case_file(tree.clerk_a, code="01.TM", title="Hồ sơ A", year=2027)
    for kwargs, code in (
        ({"code": "", "title": "x"}, "code_required"),
        ({"code": "có dấu cách", "title": "x"}, "bad_code"),
        ({"code": "A" * 65, "title": "x"}, "bad_code"),
        ({"code": "02.TM", "title": "  "}, "title_required"),
        ({"code": "02.TM", "title": "x" * 501}, "title_too_long"),
        ({"code": "02.TM", "title": "x", "year": "năm nay"}, "bad_year"),
        ({"code": "02.TM", "title": "x", "year": 3000}, "bad_year"),
        ({"code": "01.TM", "title": "Hồ sơ B", "year": 2027}, "duplicate_code"),
        ({"code": "03.TM", "title": "x", "keeper": "clerk_b"}, "keeper_outside_unit"),
    ):
        if kwargs.get("keeper") == "clerk_b":
            kwargs["keeper"] = tree.clerk_b
        with pytest.raises(InvalidInput) as caught:
            casefiles.do_create_case_file(tree.clerk_a, **kwargs)
        assert caught.value.code == code
    # The same code in another year is another case file.
    casefiles.do_create_case_file(tree.clerk_a, code="01.TM", title="Hồ sơ A", year=2028)


def test_other_units_case_files_and_documents_are_out_of_scope(tree: Any) -> None:
    mine = casefiles.do_create_case_file(tree.clerk_a, code="01.TM", title="Hồ sơ A")
    theirs = casefiles.do_create_case_file(tree.clerk_b, code="01.TM", title="Hồ sơ B")
    their_document = _draft(
        tree.clerk_b, tree.clerk_b, "Báo cáo của xã khác", signer_title="Văn thư"
    )
    with pytest.raises(OutOfScope):
        casefiles.get_visible_case_file(tree.clerk_a, theirs.pk)
    with pytest.raises(OutOfScope):
        casefiles.do_add_to_case_file(
            theirs, _draft(tree.clerk_a, tree.commander_a, "x"), tree.clerk_a
        )
    with pytest.raises(OutOfScope):
        casefiles.do_add_to_case_file(mine, their_document, tree.clerk_a)
    assert list(casefiles.case_files_visible_to(tree.clerk_a)) == [mine]


def test_a_secret_document_in_a_case_file_is_hidden_from_the_uncleared(tree: Any) -> None:
    from tiendon.units.actions import do_create_person
    from tiendon.units.models import Role

    commander = tree.province_commander
    case_file = casefiles.do_create_case_file(commander, code="01.TM", title="Hồ sơ phòng thủ")
    secret = _draft(commander, commander, "Kế hoạch bí mật", secrecy=Secrecy.MAT)
    casefiles.do_add_to_case_file(case_file, secret, commander)
    uncleared = do_create_person(
        username="cb.thanhhoa",
        full_name="Ngô Văn Bình",
        unit=tree.province,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
    )
    assert casefiles.documents_in(uncleared, case_file) == []
    assert [d.pk for _n, d in casefiles.documents_in(commander, case_file)] == [secret.pk]


def test_case_file_pages(tree: Any, client: Any) -> None:
    document = _draft(tree.clerk_a, tree.commander_a, "Báo cáo quân số tháng 1")
    client.force_login(tree.clerk_a)
    url = reverse("case_file_list")
    listing = client.get(url)
    assert listing.status_code == 200
    assert "Lập hồ sơ mới" in listing.content.decode()
    bad = client.post(url, {"code": "", "title": "Hồ sơ"})
    assert bad.status_code == 400
    assert "code_required" in bad.content.decode()
    created = client.post(url, {"code": "2027.02.TM", "title": "Hồ sơ quân số", "year": "2027"})
    assert created.status_code == 302
    detail = created["Location"]
    assert "Báo cáo quân số tháng 1" in client.get(detail).content.decode()  # a candidate
    assert client.post(detail, {"document": str(document.pk)}).status_code == 302
    page = client.get(detail).content.decode()
    assert "2027.02.TM" in page
    assert "Báo cáo quân số tháng 1" in page
    # The document's own page names its case file.
    document_page = client.get(reverse("document_detail", args=[document.pk])).content.decode()
    assert "2027.02.TM" in document_page
    again = client.post(detail, {"document": str(document.pk)})
    assert again.status_code == 400
    taken_out = client.post(detail, {"document": str(document.pk), "remove": "1"})
    assert taken_out.status_code == 302
    assert "Hồ sơ chưa có văn bản nào." in client.get(detail).content.decode()
    assert client.post(detail, {"document": str(document.pk)}).status_code == 302
    client.force_login(tree.clerk_b)
    assert client.get(detail).status_code == 404
    assert client.post(detail, {"document": str(document.pk)}).status_code == 404
    assert "Hồ sơ quân số" not in client.get(url).content.decode()
