"""What every download answers, API or page (config/downloads.py)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def without_the_middleware_nosniff(settings: Any) -> None:
    """SecurityMiddleware adds nosniff to every response: switched off here, the tests show
    that each download sets it itself."""
    settings.SECURE_CONTENT_TYPE_NOSNIFF = False


def assert_download(
    response: Any, *, content_type: str, filename: str, clinical: bool = True, inline: bool = False
) -> None:
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    assert response["Content-Type"] == content_type
    disposition = "inline" if inline else "attachment"
    assert response["Content-Disposition"] == f'{disposition}; filename="{filename}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    if clinical:
        assert response["Cache-Control"] == "no-store"
    else:
        assert "no-store" not in response.get("Cache-Control", "")
