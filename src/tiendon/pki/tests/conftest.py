"""Fixtures of the pki tests: a SoftHSM2 token per test (see softhsm.py)."""

from tiendon.pki.tests.softhsm import softhsm_token  # noqa: F401
