"""The self-checks of 07-capstone: right answers pass, typical wrong ones get a hint."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from icslab.capstone import submit
from icslab.checks import Hint
from icslab.checks.capstone import always_alarm, submission, team_detector, vote
from icslab.data import load_plant
from icslab.metrics import batadal_score


@pytest.fixture(scope="module")
def sample():
    return load_plant("sample")


def per_second(flags, plant):
    return flags.reindex(plant.features.index, method="ffill").fillna(0).astype(int)


@pytest.fixture(scope="module")
def blocks(sample):
    """Three stand-in blocks at 10 s: two that each catch some attacks late (different
    ones), and one that alarms all the time."""
    labels = sample.labels.resample("10s").max().astype(int)
    late = labels & labels.shift(30, fill_value=0)  # 5 minutes into each attack
    starts = sample.attacks["start"]
    first_half = late.where(late.index < starts.iloc[3], 0)
    second_half = late.where(late.index >= starts.iloc[3], 0)
    return pd.DataFrame(
        {"early attacks": first_half, "late attacks": second_half, "always": 1},
        index=labels.index,
    )


# -- always_alarm ----------------------------------------------------------------------


def test_always_alarm_accepts_the_s_of_an_alarm_at_every_second(sample):
    always_alarm(batadal_score(sample.labels, np.ones(len(sample.labels))).s, plant=sample)


@pytest.mark.parametrize("wrong", [0.25, 0.5, 1.5, "0.75", True])
def test_always_alarm_refuses_other_values(sample, wrong):
    with pytest.raises(Hint):
        always_alarm(wrong, plant=sample)


def test_always_alarm_names_the_silent_detector_and_the_score_object(sample):
    with pytest.raises(Hint, match="never alarms"):
        always_alarm(batadal_score(sample.labels, np.zeros(len(sample.labels))).s, plant=sample)
    with pytest.raises(Hint, match=r"\.s"):
        always_alarm(batadal_score(sample.labels, np.ones(len(sample.labels))), plant=sample)


# -- vote --------------------------------------------------------------------------------


def test_vote_accepts_a_count_against_k(blocks):
    vote(lambda flags, k: (flags.sum(axis=1) >= k).astype(int), flags=blocks)
    vote(lambda flags, k: flags.sum(axis=1) >= k, flags=blocks)  # booleans are fine


def _mutating(flags, k):
    flags["total"] = flags.sum(axis=1)
    return (flags["total"] >= k).astype(int)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda flags, k: (flags.sum(axis=1) > k).astype(int), "k=1"),
        (lambda flags, k: flags.max(axis=1), "k=2"),  # an OR whatever k
        (lambda flags, k: (flags.mean(axis=1) >= 0.5).astype(int), "k=1"),
        (lambda flags, k: flags >= k, "Series"),
        (lambda flags, k: (flags.sum(axis=1) >= k).to_numpy(), "Series"),
        (lambda flags, k: (flags.sum(axis=1) >= k).reset_index(drop=True), "index"),
        (lambda flags, k: flags.sum(axis=1), "0 or 1"),
        (_mutating, "must not change"),
        ("(flags.sum(axis=1) >= k)", "function"),
    ],
)
def test_vote_refuses_typical_mistakes(blocks, wrong, hint):
    with pytest.raises(Hint, match=hint):
        vote(wrong, flags=blocks)


# -- team_detector -----------------------------------------------------------------------


def test_team_detector_accepts_a_combination_that_beats_each_block(sample, blocks):
    team = blocks[["early attacks", "late attacks"]].max(axis=1)
    team_detector(per_second(team, sample), plant=sample, flags=blocks)


def test_team_detector_refuses_single_blocks_noise_and_silence(sample, blocks):
    index = sample.features.index
    with pytest.raises(Hint, match="no better than the best block"):
        team_detector(per_second(blocks["early attacks"], sample), plant=sample, flags=blocks)
    with pytest.raises(Hint, match="more than half"):
        team_detector(pd.Series(1, index=index), plant=sample, flags=blocks)
    with pytest.raises(Hint, match="no better"):
        team_detector(pd.Series(0, index=index), plant=sample, flags=blocks)


def test_team_detector_refuses_many_false_alarms(sample, blocks):
    team = per_second(blocks[["early attacks", "late attacks"]].max(axis=1), sample)
    flicker = team.copy()
    normal = np.flatnonzero(~sample.labels.to_numpy())
    flicker.iloc[normal[::600]] = 1  # a one-second alarm every ten normal minutes
    with pytest.raises(Hint, match="false alarms per day"):
        team_detector(flicker, plant=sample, flags=blocks)


def test_team_detector_refuses_wrong_shapes(sample, blocks):
    team = blocks[["early attacks", "late attacks"]].max(axis=1)
    with pytest.raises(Hint, match="at_seconds"):
        team_detector(team, plant=sample, flags=blocks)  # still one flag per 10 s
    with pytest.raises(Hint, match="Series"):
        team_detector(per_second(team, sample).to_numpy(), plant=sample, flags=blocks)
    gappy = per_second(team, sample).astype(float)
    gappy.iloc[5] = np.nan
    with pytest.raises(Hint, match="missing"):
        team_detector(gappy, plant=sample, flags=blocks)
    with pytest.raises(Hint, match="0/1"):
        team_detector(per_second(team, sample) * 0.5, plant=sample, flags=blocks)


# -- submission --------------------------------------------------------------------------


@pytest.fixture
def team_flags(sample, blocks):
    return per_second(blocks[["early attacks", "late attacks"]].max(axis=1), sample)


def test_submission_accepts_what_submit_returns(sample, team_flags, tmp_path):
    receipt = submit(team_flags, team="blue", dataset="sample", folder=tmp_path)
    submission(receipt, plant=sample)


def test_submission_refuses_silence_noise_and_the_wrong_set(sample, team_flags, tmp_path):
    index = sample.features.index
    silent = submit(pd.Series(0, index=index), team="blue", dataset="sample", folder=tmp_path)
    with pytest.raises(Hint, match="never alarms"):
        submission(silent, plant=sample)
    noisy = submit(pd.Series(1, index=index), team="blue", dataset="sample", folder=tmp_path)
    with pytest.raises(Hint, match="more than half"):
        submission(noisy, plant=sample)
    other = load_plant("sample-train")
    elsewhere = submit(pd.Series(0, index=other.features.index), team="blue",
                       dataset="sample-train", folder=tmp_path)  # fmt: skip
    with pytest.raises(Hint, match="dataset=CAPSTONE"):
        submission(elsewhere, plant=sample)
    with pytest.raises(Hint, match="what submit"):
        submission(team_flags, plant=sample)


def test_submission_refuses_a_receipt_that_does_not_match_the_set(sample, team_flags, tmp_path):
    receipt = submit(team_flags, team="blue", dataset="sample", folder=tmp_path)
    short = dataclasses.replace(receipt, rows=receipt.rows - 1)
    with pytest.raises(Hint, match="rows"):
        submission(short, plant=sample)
