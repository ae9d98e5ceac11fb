"""An attack's targets: joined by one separator in labels.csv (the datacard says which),
a list per attack once loaded, and the welcome exercise takes either form."""

import types

import pandas as pd
import pytest

from icslab.checks import CheckFailed, check
from icslab.formats import TARGETS_SEPARATOR, read_attacks
from icslab.sim.datacard import LABELS_ROW

LABELS = (
    "attack_id,start,end,kind,targets,description\n"
    "A1,2026-03-01T10:00:00Z,2026-03-01T10:05:00Z,sensor_constant,LIT101,frozen\n"
    "A2,2026-03-01T11:00:00Z,2026-03-01T12:00:00Z,setpoint_tamper,P101;MV101,two at once\n"
)


@pytest.fixture
def attacks(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(LABELS)
    return read_attacks(path)


def test_targets_load_as_a_list_per_attack(attacks):
    assert attacks["targets"].tolist() == [["LIT101"], ["P101", "MV101"]]


def test_the_datacard_names_the_separator_labels_csv_uses():
    assert TARGETS_SEPARATOR == ";"
    assert f"separated by `{TARGETS_SEPARATOR}`" in LABELS_ROW


def test_a_plant_without_attacks_still_has_a_targets_column(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("attack_id,start,end,kind,targets,description\n")
    assert list(read_attacks(path)["targets"]) == []


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("P101", True),  # one of the longest attack's targets
        ("MV101", True),
        (["P101", "MV101"], True),  # its whole list
        ("LIT101", False),  # the other attack's
        (["P101"], False),  # half of the list
        ("P101;MV101", False),  # the file's text, not a tag
        (101, False),
    ],
)
def test_the_longest_target_exercise_takes_a_tag_or_the_whole_list(
    attacks, answer, right, monkeypatch
):
    monkeypatch.setenv("ICSLAB_CHECK_STRICT", "1")
    plant = types.SimpleNamespace(attacks=attacks)
    if right:
        assert check("welcome.longest_target", answer, plant=plant)
    else:
        with pytest.raises(CheckFailed):
            check("welcome.longest_target", answer, plant=plant)


def test_durations_still_work_on_the_loaded_table(attacks):
    durations = attacks["end"] - attacks["start"]
    assert durations.max() == pd.Timedelta("1h")
