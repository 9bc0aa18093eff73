"""Sign-in tests hash passwords with a fast hasher: each sign-in checks one, and the
production hasher's cost (by design) would make these tests slow, not safer."""

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
