"""Where a load run's CPU went on this machine: web workers, PostgreSQL, Redis, the clients.

On a saturated 2-core machine a rate says how the whole machine shared its time; the CPU
each part spent per request says what to cut. Read from /proc/<pid>/stat (user + system
time, in clock ticks of 10 ms), so only for servers on this machine; a run of a few hundred
requests is a few seconds of CPU, which ticks measure to a few per cent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

GROUPS = ("web", "postgres", "redis", "clients")
_TICK = os.sysconf("SC_CLK_TCK")


def meter(web_master: int) -> Callable[[], dict[str, float]]:
    """A function returning the CPU seconds spent so far by each group: the children of
    `web_master` (gunicorn's workers), PostgreSQL's processes, Redis, and this process (the
    benchmark's client threads). Processes that ended meanwhile are not counted: a server's
    backends and workers live through a run."""
    me = os.getpid()

    def read() -> dict[str, float]:
        spent = dict.fromkeys(GROUPS, 0.0)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue  # gone meanwhile
            name = text[text.index("(") + 1 : text.rindex(")")]
            fields = text.rsplit(")", 1)[1].split()
            pid, ppid = int(stat.parent.name), int(fields[1])
            seconds = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
            if ppid == web_master:
                spent["web"] += seconds
            elif name == "postgres":
                spent["postgres"] += seconds
            elif name.startswith("redis-server"):
                spent["redis"] += seconds
            elif pid == me:
                spent["clients"] += seconds
        return spent

    return read


def per_request(
    before: dict[str, float], after: dict[str, float], requests: int
) -> dict[str, float]:
    """Milliseconds of CPU per request, by group, between two readings."""
    return {group: (after[group] - before[group]) * 1000 / requests for group in GROUPS}
