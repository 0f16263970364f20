"""The `tiendon` console script: Django's manage.py under the project's own name."""

from __future__ import annotations

import os
import sys


def _option(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _node_start_environment(args: list[str]) -> None:
    """`node start --data DIR --name N --port P` must point the settings (read once, at
    start-up) and the processes it starts at that node, before Django loads them."""
    data, name, port = (_option(args, o) for o in ("--data", "--name", "--port"))
    if data:
        os.environ["TIENDON_DATA_DIR"] = data
    if name:
        os.environ["TIENDON_NODE_NAME"] = name
    if port and "TIENDON_PUBLIC_URL" not in os.environ:
        host = _option(args, "--host") or "127.0.0.1"
        os.environ["TIENDON_PUBLIC_URL"] = f"http://{host}:{port}"


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiendon.settings")
    args = list(argv if argv is not None else sys.argv)
    if args[1:3] == ["node", "start"]:
        _node_start_environment(args[3:])
    from django.core.management import execute_from_command_line

    from tiendon.config import ConfigError

    try:
        import django

        django.setup()
    except ConfigError as exc:
        print(f"tiendon: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    # The project's commands read better hyphenated (`tiendon seed-units`); Django's
    # command modules cannot have hyphens in their names.
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
