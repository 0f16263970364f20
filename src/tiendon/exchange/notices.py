"""Waiting for PostgreSQL's notices: a process sleeps until a transaction that gave it
work commits (the outbox's, the arrivals'), instead of polling. Elsewhere it just sleeps."""

from __future__ import annotations

import time

from django.db import connection

_listening: set[tuple[int, str]] = set()  # (connection, channel) pairs listening


def wait(channel: str, timeout: float, *, linger: float = 0.0) -> None:
    """Sleep until a NOTIFY on `channel` or `timeout` seconds; once woken, `linger` more,
    so what is queued meanwhile is taken in the same pass."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        time.sleep(timeout)
        return
    connection.ensure_connection()
    raw = connection.connection
    if (id(raw), channel) not in _listening:
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {channel}")
        _listening.add((id(raw), channel))
    woken = False
    for _notice in raw.notifies(timeout=timeout, stop_after=1):
        woken = True
    if woken and linger > 0:
        time.sleep(linger)
