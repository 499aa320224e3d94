"""WhiteNoise as production runs it, with the static finders read once per test process.

The tests serve static files from the apps' finders (WHITENOISE_USE_FINDERS: no collectstatic
runs before them). With that switch WhiteNoise lists and stats every static file of every
app, the API docs' bundles included, when it is built; production builds it once per
process, but Django's test client builds the whole middleware chain anew for each client.
That listing was a quarter of the CPU of the API and page tests (1,533 clients in
liaison, messaging, protocols, security and directory, 12 ms each).

The files do not change during a run, so the listing is kept per process and per serving
configuration; what a request is answered is WhiteNoise's own code, unchanged.
"""

from __future__ import annotations

from typing import Any, ClassVar

from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.responders import StaticFile


class FindersReadOncePerProcess(WhiteNoiseMiddleware):
    _from_finders: ClassVar[dict[tuple[Any, ...], dict[str, StaticFile]]] = {}

    def _configuration(self) -> tuple[Any, ...]:
        """What the files' answers depend on: a test that changes one gets its own listing."""
        return (
            self.static_prefix,
            self.max_age,
            self.allow_all_origins,
            self.charset,
            self.add_headers_function,
            self.index_file,
            getattr(self.immutable_file_test, "__func__", self.immutable_file_test),
            tuple(sorted(self.media_types.types_map.items())),
        )

    def add_files_from_finders(self) -> None:
        key = self._configuration()
        listing = self._from_finders.get(key)
        if listing is None:
            kept, self.files = self.files, {}
            super().add_files_from_finders()
            listing = self._from_finders[key] = self.files
            self.files = kept
        self.files.update(listing)
