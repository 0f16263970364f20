"""The `tiendon` console script: Django's manage.py under the project's own name."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiendon.settings")
    from django.core.management import execute_from_command_line

    from tiendon.config import ConfigError

    try:
        import django

        django.setup()
    except ConfigError as exc:
        print(f"tiendon: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    execute_from_command_line(argv if argv is not None else sys.argv)


if __name__ == "__main__":
    main()
