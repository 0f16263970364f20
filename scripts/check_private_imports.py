"""Fails when a module of tiendon imports another module's private name (`from tiendon.x
import _y`), or reads one through a module it imported (`x._y`). Tests and migrations are
not checked: a test may reach into what it tests. Run by `make lint`."""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def problems(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if {"tests", "migrations"} & set(path.parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        modules: set[str] = set()  # local names bound to tiendon modules
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tiendon"):
                for alias in node.names:
                    if _is_private(alias.name):
                        found.append(f"{path}:{node.lineno}: imports {node.module}.{alias.name}")
                    else:
                        modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("tiendon"):
                        modules.add(alias.asname or alias.name.split(".")[0])
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and _is_private(node.attr)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and node.value.id[:1].islower()  # a module, not a class read for its constant
            ):
                found.append(f"{path}:{node.lineno}: reads {node.value.id}.{node.attr}")
    return found


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "src/tiendon")
    found = problems(root)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} private name(s) used across modules", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
