"""The project's error types: a stable code for machines, a message for people."""

from __future__ import annotations

from typing import Any


class TiendonError(Exception):
    """Base error: `code` is stable (tests and logs match on it), `message` is for people."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class OutOfScope(TiendonError):
    """The object exists (or may exist) but lies outside what the person may see.

    Views never catch it: `tiendon.web.middleware` audits the denial and answers 404,
    so a person cannot tell another unit's object from one that does not exist.
    """

    code = "out_of_scope"

    def __init__(self, object_type: str, object_id: str) -> None:
        super().__init__(f"{object_type} {object_id} is outside your scope")
        self.object_type = object_type
        self.object_id = object_id


class InvalidInput(TiendonError):
    """Input that fails validation; `field` (and `row` for files) say where."""

    code = "invalid"

    def __init__(
        self, message: str, *, code: str = "invalid", field: str = "", row: int | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.field = field
        self.row = row
