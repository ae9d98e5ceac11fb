"""Self-checks of 08-live-plant."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from icslab.checks import Hint, exercise


def _misshapen(live: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Frames a detector fitted on the recorded data must not be given, each with what
    is wrong with it."""
    first, second = live.columns[:2]
    swapped = list(live.columns)
    swapped[0], swapped[1] = second, first
    return {
        f"a column missing ({first})": live.drop(columns=first),
        f"two columns swapped ({first}, {second})": live[swapped],
        f"{first} as float32": live.astype({first: "float32"}),
        "timestamps without their UTC zone": live.tz_localize(None),
        "an index not named timestamp": live.rename_axis("time"),
    }


@exercise("plant.shaped_like")
def shaped_like(answer, *, live: pd.DataFrame, reference: pd.DataFrame) -> None:
    if not callable(answer):
        raise Hint("define a function: def shaped_like(frame, reference): return True or False")
    said = answer(live, reference)
    if not isinstance(said, bool | np.bool_):
        raise Hint("return True or False (a bool), not a Series: combine the tests with `and`")
    if not said:
        raise Hint(
            "it says the live history is not shaped like the recorded data, and it is: "
            "compare the columns as lists, the dtypes and the index's dtype and name"
        )
    for wrong, frame in _misshapen(live).items():
        if answer(frame, reference):
            raise Hint(f"it accepts a frame with {wrong}: compare that too")


def _episodes(flags: pd.Series, quiet: pd.Timedelta) -> pd.DataFrame:
    times = flags.index[flags.to_numpy(dtype=bool)]
    gaps = times.to_series().diff()
    new = (gaps > quiet) | gaps.isna()
    return pd.DataFrame({"start": times[new.to_numpy()], "end": times[np.roll(new.to_numpy(), -1)]})


def _episode_cases(flags: pd.Series) -> list[pd.Series]:
    """The notebook's flags, and a minute in which every gap and edge shows."""
    index = pd.date_range("2026-03-02 06:00", periods=60, freq="1s", tz="UTC", name="timestamp")
    alarmed = np.zeros(60, dtype=bool)
    alarmed[[0, 1, 2, 10, 25, 26, 59]] = True  # gaps of 8, 15 and 33 seconds
    return [
        flags.astype(bool),
        pd.Series(alarmed, index=index),
        pd.Series(np.zeros(60, dtype=bool), index=index),
    ]


@exercise("plant.episodes")
def episodes(answer, *, flags: pd.Series, quiets) -> None:
    if not callable(answer):
        raise Hint("define a function: def episodes(flags, quiet): return a DataFrame")
    for case in _episode_cases(flags):
        for quiet in map(pd.Timedelta, quiets):
            expected = _episodes(case, quiet)
            got = answer(case, quiet)
            if not isinstance(got, pd.DataFrame) or not {"start", "end"} <= set(got.columns):
                raise Hint("return a DataFrame with the columns start and end, one row an episode")
            if len(got) != len(expected):
                many = "many" if len(got) > len(expected) else "few"
                raise Hint(
                    f"with quiet = {quiet.total_seconds():g} s it finds too {many} episodes: an "
                    "alarmed row no more than `quiet` after the previous one belongs to its episode"
                    + (" (and no alarm at all is no episode)" if not case.any() else "")
                )
            for column in ("start", "end"):
                mine = pd.DatetimeIndex(got[column].to_numpy())
                if not (mine == pd.DatetimeIndex(expected[column].to_numpy())).all():
                    raise Hint(
                        f"the right number of episodes, but their {column} times differ: "
                        f"an episode's {column} is its {'first' if column == 'start' else 'last'} "
                        "alarmed row's timestamp"
                    )


@exercise("plant.missing_seconds")
def missing_seconds(answer, *, rows: pd.DataFrame) -> None:
    if isinstance(answer, bool) or not isinstance(answer, numbers.Integral):
        raise Hint("answer with a whole number of seconds (an int)")
    index = rows.index
    span = int((index.max() - index.min()) / pd.Timedelta("1s")) + 1
    expected = span - index.nunique()
    if answer == expected:
        return
    if answer == span - len(index):
        raise Hint("a second that came twice is not missing: count each timestamp once")
    raise Hint(
        "count the plant seconds from the first row to the last (both included) and "
        "take away the seconds that have a row"
    )
