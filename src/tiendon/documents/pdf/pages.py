"""A PDF's pages as pictures, read in the page on a phone or a slow link: the node renders one
page per request with poppler's `pdftoppm` (a JPEG of about 60 kB at 900 px), so nobody
downloads the whole file to read it and no viewer script is loaded. The PDF comes from
outside (a received document, a scan), so poppler runs in its own process with a time limit.
"""

from __future__ import annotations

import io
import subprocess

from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from tiendon.documents.errors import DocumentError

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
