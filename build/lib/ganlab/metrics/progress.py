"""Progress lines for long feature extraction (Inception on a CPU runs for tens of minutes).

Written through ``logging`` as whole lines, at most one every ``every`` seconds: they read the
same in a terminal and in a cluster job's log file, where a carriage-return bar (tqdm, rich)
becomes one unreadable line. A pass shorter than ``every`` prints nothing, so the evaluations
that run during training stay quiet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("ganlab.metrics")


class Progress:
    def __init__(
        self,
        what: str,
        total: int,
        every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.what, self.total, self.every, self.clock = what, total, every, clock
        self.done = 0
        self.start = self.last = clock()

    def update(self, k: int) -> None:
        self.done += k
        now = self.clock()
        if now - self.last < self.every and self.done < self.total:
            return
        if now - self.start < self.every:  # finished before the first line was due
            return
        self.last = now
        rate = self.done / max(now - self.start, 1e-9)
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        log.info(
            "%s: %d/%d images, %.1f images/s, %s left",
            self.what,
            self.done,
            self.total,
            rate,
            format_seconds(left),
        )


def format_seconds(seconds: float) -> str:
    """65 -> '1 min 5 s', 3700 -> '1 h 1 min', 4 -> '4 s'."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
