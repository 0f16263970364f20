from tiendon.documents.actions import do_issue, do_sign
from tiendon.documents import pades
from tiendon.documents.tests.conftest import in_review


def test_flow(board):
    doc = in_review(board)
    doc = do_sign(doc, board.commander, totp_code=board.code())
    open("/tmp/signed.pdf", "wb").write(bytes(doc.pdf))
    print(pades.verify(bytes(doc.pdf)))
    doc = do_issue(doc, board.clerk)
    open("/tmp/issued.pdf", "wb").write(bytes(doc.pdf))
    for r in pades.verify(bytes(doc.pdf)):
        print(r)
