"""The documents app's error type (codes are stable; tests and logs match on them)."""

from __future__ import annotations

from tiendon.errors import TiendonError


class DocumentError(TiendonError):
    """A document change that the rules refuse: wrong state, wrong person, bad content."""

    code = "document_error"
