"""Settings for building the image: `collectstatic` without the service's secrets.

The production settings refuse to load with DEBUG off unless every key is given, which is
right at run time and wrong at build time: an image must build without secrets (they would
stay in its layers). Here each missing secret gets a random value that lives only for the
build command; nothing this process encrypts, signs or stores outlives it.
"""

from __future__ import annotations

import base64
import os
import secrets


def _random_b64() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


_THROWAWAY = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ENCRYPTION_KEYS": f"build:{_random_b64()}",
    "BLIND_INDEX_KEY": _random_b64(),
    "AUDIT_KEYS": f"build:{_random_b64()}",
    "AUDIT_CHECKPOINT_SIGNING_KEY": f"buildcp:{_random_b64()}",
}
for _name, _value in _THROWAWAY.items():
    if not os.environ.get(_name) and not os.environ.get(f"{_name}_FILE"):
        os.environ[_name] = _value

from config.settings import *  # noqa: E402, F403
