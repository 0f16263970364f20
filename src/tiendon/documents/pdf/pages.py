"""A PDF's pages as pictures, read in the page on a phone or a slow link: the node renders one
page per request with poppler's `pdftoppm` (a JPEG of about 60 kB at 900 px), so nobody
downloads the whole file to read it and no viewer script is loaded. The PDF comes from
outside (a received document, a scan), so poppler runs in its own process with a time limit.
"""

from __future__ import annotations

import io
import subprocess

from django.http import Http404, HttpResponse
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from tiendon.documents.errors import DocumentError
from tiendon.errors import TiendonError

WIDTH = 900  # pixels: a phone's screen twice over, a desktop column once
DRAW = ["pdftoppm", "-scale-to-x", str(WIDTH), "-scale-to-y", "-1", "-jpeg", "-jpegopt"]
MAX_PAGES = 2000
SECONDS = 20


def page_count(data: bytes) -> int:
    """How many pages the PDF has (0 if it cannot be read)."""
    try:
        count = PdfFileReader(io.BytesIO(data), strict=False).root["/Pages"]["/Count"]
        return max(0, min(int(count), MAX_PAGES))
    except (PdfError, KeyError, TypeError, ValueError, RecursionError):
        return 0


def page_image(data: bytes, number: int) -> bytes:
    """Page `number` (from 1) as a JPEG; DocumentError if it cannot be drawn."""
    page = str(int(number))
    try:
        done = subprocess.run(
            [*DRAW, "quality=75", "-f", page, "-l", page, "-"],
            input=data,
            capture_output=True,
            timeout=SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DocumentError("the page took too long to draw", code="page_timeout") from exc
    if done.returncode != 0 or not done.stdout.startswith(b"\xff\xd8"):
        raise DocumentError("the page cannot be drawn", code="page_unreadable")
    return done.stdout


def page_response(data: bytes, content_type: str, number: int) -> HttpResponse:
    """Page `number` of a PDF as a JPEG for the reader (a scan that is a picture, as is)."""
    if content_type != "application/pdf":
        if number != 1:
            raise Http404("a picture has one page")
        response = HttpResponse(data, content_type=content_type)
    elif not 1 <= number <= page_count(data):
        raise Http404("no such page")
    else:
        try:
            response = HttpResponse(page_image(data, number), content_type="image/jpeg")
        except TiendonError as exc:
            raise Http404(exc.code) from exc
    response["Cache-Control"] = "private, max-age=3600"
    return response
