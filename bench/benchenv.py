"""What a benchmark does before it measures: a throwaway data folder (removed at exit)
unless TIENDON_DATA_DIR names one, a node secret for the keystore, and Django set up.

    from benchenv import start_django    # bench/ is on sys.path when a bench runs
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile


def start_django(name: str = "bench") -> None:
    if not os.environ.get("TIENDON_DATA_DIR"):
        data_dir = tempfile.mkdtemp(prefix=f"tiendon-{name}-")
        atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
        os.environ["TIENDON_DATA_DIR"] = data_dir
    os.environ.setdefault("TIENDON_NODE_SECRET", "benchmark-node-secret-0123456789abcdef")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiendon.settings")
    import django

    django.setup()
