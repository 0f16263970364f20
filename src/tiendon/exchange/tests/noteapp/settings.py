"""The project's settings with the test-only note app installed (nodes started by the
multi-node tests of the arrival seam)."""

from tiendon.settings import *  # noqa: F403
from tiendon.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tiendon.exchange.tests.noteapp"]
