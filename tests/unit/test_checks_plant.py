"""The self-checks of 08-live-plant: right answers pass, typical wrong ones get a hint.
A slice of the sample dataset stands in for the live history: the plant's history has
the same shape (tests/unit/test_plant_live.py)."""

import numpy as np
import pandas as pd
import pytest

from icslab.checks import Hint
from icslab.checks.plant import episodes, missing_seconds, shaped_like
from icslab.data import load_plant

QUIETS = [pd.Timedelta("0s"), pd.Timedelta("10s"), pd.Timedelta("10min")]


@pytest.fixture(scope="module")
def sample():
    return load_plant("sample")


@pytest.fixture(scope="module")
def live(sample):
    return sample.features.iloc[:900].copy()


# -- shaped_like --------------------------------------------------------------------------


def same_shape(frame, reference):
    return bool(
        list(frame.columns) == list(reference.columns)
        and (frame.dtypes == reference.dtypes).all()
        and frame.index.dtype == reference.index.dtype
        and frame.index.name == reference.index.name
    )


def test_shaped_like_accepts_a_complete_comparison(live, sample):
    shaped_like(same_shape, live=live, reference=sample.features)


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (lambda f, r: set(f.columns) == set(r.columns), "two columns swapped"),
        (lambda f, r: list(f.columns) == list(r.columns), "as float32"),
        (
            lambda f, r: list(f.columns) == list(r.columns) and (f.dtypes == r.dtypes).all(),
            "without their UTC zone",
        ),
        (lambda f, r: f.shape[1] == r.shape[1], "two columns swapped"),
        (lambda f, r: len(f.columns) <= len(r.columns), "a column missing"),
    ],
)
def test_shaped_like_names_what_a_partial_comparison_lets_through(live, sample, answer, says):
    with pytest.raises(Hint, match=says):
        shaped_like(answer, live=live, reference=sample.features)


def test_shaped_like_wants_a_function_saying_true_for_the_live_history(live, sample):
    with pytest.raises(Hint, match="define a function"):
        shaped_like(True, live=live, reference=sample.features)
    with pytest.raises(Hint, match="not a Series"):
        shaped_like(lambda f, r: f.dtypes == r.dtypes, live=live, reference=sample.features)
    with pytest.raises(Hint, match="and it is"):
        shaped_like(lambda f, r: False, live=live, reference=sample.features)


# -- episodes -----------------------------------------------------------------------------


def alarm_episodes(flags, quiet):
    times = flags.index[flags.to_numpy(dtype=bool)]
    gaps = times.to_series().diff()
    new = ((gaps > quiet) | gaps.isna()).to_numpy()
    return pd.DataFrame({"start": times[new], "end": times[np.roll(new, -1)]})


@pytest.fixture(scope="module")
def flags(sample):
    return sample.labels.astype(bool)  # minutes-long runs, hours apart: as a detector's


def test_episodes_accepts_grouping_by_the_gap_to_the_previous_alarm(flags):
    episodes(alarm_episodes, flags=flags, quiets=QUIETS)


def test_episodes_of_alarm_segments_are_too_many_once_quiet_allows_gaps(flags):
    def segments(flags, quiet):  # ignores quiet: a run of consecutive seconds each
        return alarm_episodes(flags, pd.Timedelta("1s"))

    with pytest.raises(Hint, match="with quiet = 0 s it finds too few"):
        episodes(segments, flags=flags, quiets=QUIETS)
    with pytest.raises(Hint, match="with quiet = 10 s it finds too many"):
        episodes(segments, flags=flags, quiets=QUIETS[1:])


def test_episodes_wants_first_and_last_alarm_times(flags):
    def shifted(flags, quiet):
        found = alarm_episodes(flags, quiet)
        return found.assign(end=found["end"] + pd.Timedelta("1s"))  # the first quiet second

    with pytest.raises(Hint, match="their end times differ"):
        episodes(shifted, flags=flags, quiets=QUIETS)
    with pytest.raises(Hint, match="columns start and end"):
        episodes(lambda f, q: alarm_episodes(f, q).to_numpy(), flags=flags, quiets=QUIETS)


def test_episodes_says_no_alarm_is_no_episode(flags):
    def one_at_least(flags, quiet):
        found = alarm_episodes(flags, quiet)
        return found if len(found) else pd.DataFrame({"start": [flags.index[0]],
                                                      "end": [flags.index[0]]})  # fmt: skip

    with pytest.raises(Hint, match="no alarm at all is no episode"):
        episodes(one_at_least, flags=flags, quiets=QUIETS)


# -- missing_seconds ----------------------------------------------------------------------


def test_missing_seconds_counts_the_plant_seconds_without_a_row(live):
    gappy = pd.concat([live.iloc[:100], live.iloc[103:], live.iloc[[200]]])  # 3 gone, 1 twice
    missing_seconds(0, rows=live)
    missing_seconds(3, rows=gappy)
    with pytest.raises(Hint, match="came twice"):
        missing_seconds(2, rows=gappy)  # span - rows: the duplicate hides a gap
    for wrong in (1, 4):
        with pytest.raises(Hint, match="count the plant seconds"):
            missing_seconds(wrong, rows=gappy)
    for wrong in (3.0, True, "3"):
        with pytest.raises(Hint, match="an int"):
            missing_seconds(wrong, rows=gappy)
