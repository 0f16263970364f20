"""Fixtures of the exchange's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tiendon.exchange import registry
from tiendon.exchange.tests.noteapp import apps as noteapp


@pytest.fixture
def note_app() -> Iterator[None]:
    """The test-only note app's kind and statuses, registered as its `ready()` would."""
    noteapp.register()
    yield
    registry.unregister("noteapp")
