"""Bad configuration stops `tiendon` with one clear message and changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TIENDON = str(Path(sys.executable).with_name("tiendon"))
pytestmark = pytest.mark.cli


def _run(env_changes: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(env_changes)
    return subprocess.run(
        [TIENDON, *(args or ("check",))], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://root@localhost/db", "scheme 'mysql'"),
        ("nonsense", "scheme '(none)'"),
        ("postgresql://user@localhost:notaport/db", "port"),
        ("postgresql://user@localhost:5432/", "names no database"),
    ],
)
def test_malformed_database_url_stops_with_one_message(tmp_path, url, expected):
    result = _run({"DATABASE_URL": url, "TIENDON_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "tiendon.sqlite3").exists()


def test_unwritable_data_dir_stops_with_one_message(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    target = locked / "data"
    target.write_text("a file, not a folder")
    result = _run({"TIENDON_DATA_DIR": str(target)})
    assert result.returncode == 2
    assert "TIENDON_DATA_DIR" in result.stderr
    assert "Traceback" not in result.stderr


def test_data_dir_that_cannot_be_created_is_named():
    # /proc refuses new folders even to root, which reads and writes everything else.
    result = _run({"TIENDON_DATA_DIR": "/proc/tiendon-data"})
    assert result.returncode == 2
    assert "TIENDON_DATA_DIR='/proc/tiendon-data' cannot be created" in result.stderr


def test_short_secret_key_is_refused(tmp_path):
    result = _run({"TIENDON_SECRET_KEY": "short", "TIENDON_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "TIENDON_SECRET_KEY" in result.stderr


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    env = {"TIENDON_DATA_DIR": str(tmp_path), "TIENDON_SECRET_KEY": ""}
    assert _run(env).returncode == 0
    key_file = tmp_path / "secret_key"
    first = key_file.read_text()
    assert _run(env).returncode == 0
    assert key_file.read_text() == first
    assert key_file.stat().st_mode & 0o077 == 0
