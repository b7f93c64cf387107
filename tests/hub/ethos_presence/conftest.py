"""The hub web tests' signed-in owner, on this folder's hub app (presence integration on)."""

from tests.hub.web.conftest import owner  # noqa: F401
