"""The architecture checks of `make lint` catch what they are there for: an upward import
between layers, a cycle between sibling packages, a private name used across modules."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

CONTRACTS = """
[importlinter]
root_package = shop

[importlinter:contract:layers]
name = Orders above stock
type = layers
layers =
    shop.orders
    shop.stock

[importlinter:contract:cycles]
name = No cycle between siblings
type = acyclic_siblings
ancestors = shop
"""


def _package(root: Path, stock_imports_orders: bool) -> None:
    files = {
        "shop/__init__.py": "",
        "shop/orders/__init__.py": "",
        "shop/orders/actions.py": "from shop.stock import queries\n",
        "shop/stock/__init__.py": "",
        "shop/stock/queries.py": (
            "from shop.orders import actions\n" if stock_imports_orders else "LEVEL = 1\n"
        ),
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / ".importlinter").write_text(textwrap.dedent(CONTRACTS))


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / ".importlinter"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_upward_import_fails_lint_imports(tmp_path: Path) -> None:
    _package(tmp_path, stock_imports_orders=True)
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "Orders above stock BROKEN" in result.stdout
    assert "shop.stock.queries -> shop.orders.actions" in result.stdout
    assert "No cycle between siblings BROKEN" in result.stdout


def test_the_same_package_without_it_passes(tmp_path: Path) -> None:
    _package(tmp_path, stock_imports_orders=False)
    result = _lint_imports(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "Contracts: 2 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (
            "from tiendon.documents.queries import _mask\n",
            "imports tiendon.documents.queries._mask",
        ),
        ("from tiendon.documents import queries\nqueries._mask(1, 2)\n", "reads queries._mask"),
    ],
)
def test_a_private_name_across_modules_fails_the_check(
    tmp_path: Path, text: str, found: str
) -> None:
    (tmp_path / "module.py").write_text(text)
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts/check_private_imports.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert found in result.stdout


def test_the_project_uses_no_private_name_across_modules() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts/check_private_imports.py"), str(REPO / "src/tiendon")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
