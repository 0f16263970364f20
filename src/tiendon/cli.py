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
    args = list(argv if argv is not None else sys.argv)
    # The project's commands read better hyphenated (`tiendon seed-units`); Django's
    # command modules cannot have hyphens in their names.
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
