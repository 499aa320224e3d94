"""The shared cache, built so that a Redis outage cannot turn a request into a 500.

The cache holds the throttle counters (security/throttling.py, the token endpoint's rate),
which every web worker must share: Redis when there is one. But the throttles read it before
the request's transaction, so a Redis that stops answering used to fail every API write and
every token request. `FailOpenRedisCache` is Django's RedisCache with a fallback:

- a call that cannot reach Redis (refused, timed out, reset) is answered by a per-process
  memory cache instead, so the request goes on (its write reaches the outbox, which the
  worker side already knows how to deliver later: docs/background-work.md);
- short socket timeouts (settings: CACHE_SOCKET_TIMEOUT_MS) bound what a dead or
  unreachable Redis costs one call, and after a failure Redis is not tried again for
  CACHE_RETRY_AFTER seconds (a circuit breaker): during an outage a request costs no wait;
- the outage is logged once when it starts and once when it ends, never per call.

What is lost while Redis is down: the counters are per process (each web worker counts on
its own, so the effective rate is the configured one times the number of workers), and what
was counted in memory is forgotten when Redis comes back. Only connection failures fall
back: any other Redis error (a bad command) is a bug and still raises.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis import exceptions as redis_errors

logger = logging.getLogger(__name__)

# What "Redis is unreachable" looks like from redis-py (BusyLoadingError, a Redis still
# loading its data, is a ConnectionError; a replica that became read-only during a failover
# answers ReadOnlyError). OSError covers a socket error that redis-py did not wrap.
UNREACHABLE = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,
    OSError,
)


@dataclass
class Circuit:
    """Whether this process considers one Redis down, shared by all its threads.

    Django builds a cache backend per thread; the circuit is per process (keyed by the
    cache's location), so one outage is logged once and probed by one thread at a time.
    """

    retry_after: float
    down: bool = False
    next_probe: float = 0.0  # time.monotonic() after which one caller tries Redis again
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def should_try(self) -> bool:
        """Whether this call should go to Redis: always when it is up, else one probe per wait."""
        if not self.down:
            return True
        with self.lock:
            if not self.down:
                return True
            moment = time.monotonic()
            if moment < self.next_probe:
                return False
            # This caller probes; the others keep using the local cache meanwhile.
            self.next_probe = moment + self.retry_after
            return True

    def trip(self) -> bool:
        """Record a failure; True when it starts an outage (the caller logs it)."""
        with self.lock:
            started = not self.down
            self.down = True
            self.next_probe = time.monotonic() + self.retry_after
            return started

    def reset(self) -> bool:
        """Record a success; True when it ends an outage (the caller logs it)."""
        if not self.down:
            return False
        with self.lock:
            ended = self.down
            self.down = False
            return ended


_circuits: dict[str, Circuit] = {}
_circuits_lock = threading.Lock()


def circuit_for(location: str, retry_after: float) -> Circuit:
    with _circuits_lock:
        circuit = _circuits.get(location)
        if circuit is None:
            circuit = _circuits[location] = Circuit(retry_after=retry_after)
        circuit.retry_after = retry_after  # a changed setting (tests, a reload) applies
        return circuit


class FailOpenRedisCache(RedisCache):
    """Django's RedisCache that answers from a per-process memory cache while Redis is down.

    CACHES entry: `"BACKEND": "security.cache.FailOpenRedisCache"`, `"LOCATION"`: the Redis
    URL, `"RETRY_AFTER"`: seconds before trying a failed Redis again, and in `"OPTIONS"`
    redis-py's `socket_connect_timeout` and `socket_timeout` (seconds), which bound a call.
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)
        self._circuit = circuit_for(self._location, float(params.get("RETRY_AFTER", 10)))
        # LocMemCache shares its storage between instances of one name: all the threads of
        # this process (each has its own backend instance) count in the same place.
        local_params = {key: value for key, value in params.items() if key != "OPTIONS"}
        self._local = LocMemCache(f"fail-open:{self._location}", local_params)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self._circuit.should_try():
            try:
                result = getattr(super(), method)(*args, **kwargs)
            except UNREACHABLE as error:
                if self._circuit.trip():
                    logger.warning(
                        "cache: Redis unreachable (%s), using a per-process cache; trying "
                        "Redis again every %g s",
                        type(error).__name__,
                        self._circuit.retry_after,
                    )
            else:
                if self._circuit.reset():
                    # What was counted in memory meanwhile is dropped: a next outage must
                    # not find stale values there.
                    self._local.clear()
                    logger.warning("cache: Redis reachable again, back to the shared cache")
                return result
        return getattr(self._local, method)(*args, **kwargs)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return bool(self._call("add", key, value, timeout, version))

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._call("get", key, default, version)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._call("set", key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return bool(self._call("touch", key, timeout, version))

    def delete(self, key: Any, version: int | None = None) -> bool:
        return bool(self._call("delete", key, version))

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return dict(self._call("get_many", keys, version))

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return bool(self._call("has_key", key, version))

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return int(self._call("incr", key, delta, version))

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        return list(self._call("set_many", data, timeout, version) or [])

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._call("delete_many", keys, version)

    def clear(self) -> None:
        self._local.clear()
        self._call("clear")
