"""The live historian: one row per plant second as the HMI polled it, the last few
hours in memory, shaped as `load_plant(...).features` (a UTC index named timestamp,
one float64 column per tag, in the datacard's order)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from icslab.sim.tags import TAG_NAMES

KEEP_SECONDS = 4 * 3600  # 4 h of 63 tags: 7 MB


class Historian:
    def __init__(self, keep: int = KEEP_SECONDS):
        self.keep = keep
        self._times = np.zeros(keep, dtype=np.int64)  # ns since the epoch, UTC
        self._values = np.zeros((keep, len(TAG_NAMES)))
        self._count = 0  # rows ever appended; row i sits at i % keep

    def append(self, time: pd.Timestamp, values: dict[str, float]) -> None:
        at = self._count % self.keep
        self._times[at] = time.value
        self._values[at] = [values[tag] for tag in TAG_NAMES]
        self._count += 1

    @property
    def latest(self) -> pd.Timestamp | None:
        if not self._count:
            return None
        return pd.Timestamp(int(self._times[(self._count - 1) % self.keep]), tz="UTC")

    def frame(self, after: pd.Timestamp | None = None) -> pd.DataFrame:
        """Every kept row (strictly after `after`, if given), oldest first."""
        first = max(0, self._count - self.keep)
        order = np.arange(first, self._count) % self.keep
        times = self._times[order]
        if after is not None:
            keep = times > after.value
            order, times = order[keep], times[keep]
        index = pd.DatetimeIndex(times.astype("datetime64[ns]"), name="timestamp").tz_localize(
            "UTC"
        )
        return pd.DataFrame(self._values[order], index=index, columns=list(TAG_NAMES))
