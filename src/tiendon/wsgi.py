"""WSGI entry point for a node's web workers."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiendon.settings")
application = get_wsgi_application()
