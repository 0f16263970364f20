"""Loaded by pytest before Django's settings (`-p tiendon.testing_env` in pyproject.toml).

The test live server serves static files through Django's finders, which know only the
unhashed names, so tests use plain static storage instead of the hashed manifest.
"""

import os

os.environ.setdefault("TIENDON_STATIC_MANIFEST", "0")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# A fixed node secret for the test keystore (production reads it from outside the data dir).
os.environ.setdefault("TIENDON_NODE_SECRET", "test-node-secret-not-for-production-0123456789")
