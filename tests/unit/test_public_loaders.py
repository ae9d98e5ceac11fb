"""Public datasets load as tidy tables; damaged files are refused with their name."""

import gzip
import os
import time
from pathlib import Path

import pandas as pd
import pytest

from icslab.data import Dataset, load_batadal, load_hai, load_swat
from icslab.data.public import BATADAL_TAGS
from icslab.errors import InputError

BATADAL_DIR = Path(__file__).parents[2].parent / "shared" / "data" / "batadal"
# Skipped on a developer machine without them; in CI (CI=true) they must run.
needs_batadal = pytest.mark.skipif(
    not BATADAL_DIR.is_dir() and not os.environ.get("CI"),
    reason=f"real BATADAL files not found in {BATADAL_DIR}",
)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def assert_tidy(dataset: Dataset, rows: int) -> None:
    features = dataset.features
    assert features.shape[0] == rows
    assert features.index.name == "timestamp"
    assert str(features.index.tz) == "UTC"
    assert (features.dtypes == "float64").all()
    assert not {"ATT_FLAG", "Normal/Attack", "attack", "Attack"} & set(features.columns)
    if dataset.labels is not None:
        assert dataset.labels.dtype == "boolean"
        assert dataset.labels.index.equals(features.index)


def batadal_csv(tmp_path, rows=("06/01/14 00", "06/01/14 01"), flags=(0, 1), header=None):
    """A small BATADAL-shaped file: every tag reads 1.5."""
    columns = header or ["DATETIME", *BATADAL_TAGS, "ATT_FLAG"]
    lines = [",".join(columns)]
    for when, flag in zip(rows, flags, strict=True):
        lines.append(",".join([when, *["1.5"] * (len(columns) - 2), str(flag)]))
    path = tmp_path / "batadal.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def refusal(loader, path, **options) -> str:
    with pytest.raises(InputError) as caught:
        loader(path, **options)
    message = str(caught.value)
    assert str(path) in message
    return message


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# BATADAL: the real files ------------------------------------------------------


@needs_batadal
def test_batadal_training_year_has_no_attacks():
    dataset = load_batadal(BATADAL_DIR / "BATADAL_dataset03.csv")
    assert_tidy(dataset, 8_761)
    assert list(dataset.features.columns) == list(BATADAL_TAGS)
    # "06/01/14 00" is day-first: 6 January, not 1 June.
    assert dataset.features.index[0] == utc("2014-01-06 00:00")
    assert dataset.features.index[-1] == utc("2015-01-06 00:00")
    assert (dataset.features.index.to_series().diff().dropna() == pd.Timedelta(hours=1)).all()
    assert not dataset.labels.any() and not dataset.unknown.any()


@needs_batadal
def test_batadal_dataset04_pads_its_header_and_leaves_most_hours_unknown():
    dataset = load_batadal(BATADAL_DIR / "BATADAL_dataset04.csv")
    assert_tidy(dataset, 4_177)
    assert list(dataset.features.columns) == list(BATADAL_TAGS)  # " L_T1" -> "L_T1"
    assert dataset.features.loc[utc("2016-07-04 00:00"), "L_T1"] == 2.44
    assert int(dataset.labels.sum()) == 219
    # -999 is "unknown", never "normal": this file labels no hour as normal.
    assert int(dataset.unknown.sum()) == 4_177 - 219
    assert not (dataset.labels == False).any()  # noqa: E712 (NA-aware comparison)


@needs_batadal
def test_batadal_test_set_has_no_labels():
    dataset = load_batadal(BATADAL_DIR / "BATADAL_test_dataset.csv")
    assert_tidy(dataset, 2_089)
    assert dataset.labels is None and dataset.unknown is None
    # "04/01/17 00" .. "01/04/17 00": January to April, read day-first.
    assert dataset.features.index[0] == utc("2017-01-04 00:00")
    assert dataset.features.index[-1] == utc("2017-04-01 00:00")


@needs_batadal
def test_loading_a_batadal_file_takes_well_under_a_second():
    started = time.perf_counter()
    load_batadal(BATADAL_DIR / "BATADAL_dataset03.csv")
    assert time.perf_counter() - started < 0.5


@needs_batadal
def test_a_real_batadal_file_cut_in_the_middle_of_a_line_is_refused(tmp_path):
    whole = (BATADAL_DIR / "BATADAL_dataset03.csv").read_bytes()
    cut = tmp_path / "BATADAL_dataset03.csv"
    cut.write_bytes(whole[: len(whole) // 2])
    assert "ends in the middle of a line" in refusal(load_batadal, cut)


# BATADAL: bad input -------------------------------------------------------------


def test_a_small_batadal_file_loads(tmp_path):
    dataset = load_batadal(batadal_csv(tmp_path, flags=(0, -999)))
    assert_tidy(dataset, 2)
    assert dataset.labels.tolist() == [False, pd.NA]
    assert dataset.unknown.tolist() == [False, True]


def test_a_missing_file_is_named(tmp_path):
    assert "file not found" in refusal(load_batadal, tmp_path / "BATADAL_dataset05.csv")


def test_a_folder_is_not_a_file(tmp_path):
    assert "is a folder" in refusal(load_batadal, tmp_path)


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert "the file is empty" in refusal(load_batadal, path)


def test_a_header_without_rows_is_refused(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(",".join(["DATETIME", *BATADAL_TAGS]) + "\n")
    assert "no data rows" in refusal(load_batadal, path)


def test_a_row_with_missing_cells_is_refused(tmp_path):
    path = batadal_csv(tmp_path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:-1], lines[-1][:40]]) + "\n")
    assert "rows have empty cells, first data row 2" in refusal(load_batadal, path)


def test_a_row_with_an_extra_cell_is_refused(tmp_path):
    path = batadal_csv(tmp_path)
    path.write_text(path.read_text().replace(",1\n", ",1,7\n"))
    assert "cannot read it as CSV" in refusal(load_batadal, path)


def test_a_renamed_column_is_named_with_what_is_missing(tmp_path):
    renamed = ["DATETIME", "L_T01", *BATADAL_TAGS[1:], "ATT_FLAG"]
    message = refusal(load_batadal, batadal_csv(tmp_path, header=renamed))
    assert "missing: L_T1; unexpected: L_T01" in message


def test_a_dropped_column_is_named(tmp_path):
    dropped = ["DATETIME", *BATADAL_TAGS[:-1], "ATT_FLAG"]
    assert "missing: P_J422; unexpected: none" in refusal(
        load_batadal, batadal_csv(tmp_path, header=dropped)
    )


def test_an_unknown_attack_flag_is_refused(tmp_path):
    message = refusal(load_batadal, batadal_csv(tmp_path, flags=(0, 2)))
    assert "column ATT_FLAG must hold 1, 0, -999" in message
    assert "data row 2" in message


def test_a_month_first_date_is_refused(tmp_path):
    message = refusal(load_batadal, batadal_csv(tmp_path, rows=("06/01/14 00", "01/13/14 00")))
    assert "'01/13/14 00' in data row 2" in message


def test_a_value_that_is_not_a_number_is_named_with_its_column(tmp_path):
    path = batadal_csv(tmp_path)
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace("1.5", "n/a", 1)
    path.write_text("\n".join(lines) + "\n")
    assert "column L_T1 has 1 values that are not numbers, first 'n/a'" in refusal(
        load_batadal, path
    )


def test_a_binary_file_is_refused(tmp_path):
    path = tmp_path / "batadal.csv"
    path.write_bytes(gzip.compress(b"DATETIME,L_T1\n") + b"\n")
    refusal(load_batadal, path)


# SWaT -----------------------------------------------------------------------------

SWAT = (
    " Timestamp,FIT101,LIT101, MV101,P101, AIT201 ,Normal/Attack\n"
    " 28/12/2015 10:00:00 AM,2.427057,522.8467,2,2,262.0161,Normal\n"
    " 28/12/2015 12:00:01 PM,2.446274,522.886,2,2,262.0161,Attack\n"
    " 28/12/2015 1:00:02 PM,2.489191,522.8467,2,2,262.0161,A ttack\n"
)


def test_swat_times_are_singapore_time_with_am_pm(tmp_path):
    path = tmp_path / "SWaT_Dataset_Attack_v0.csv"
    path.write_text(SWAT)
    dataset = load_swat(path)
    assert_tidy(dataset, 3)
    assert list(dataset.features.columns) == ["FIT101", "LIT101", "MV101", "P101", "AIT201"]
    assert list(dataset.features.index) == [
        utc("2015-12-28 02:00:00"),
        utc("2015-12-28 04:00:01"),
        utc("2015-12-28 05:00:02"),
    ]
    assert dataset.labels.tolist() == [False, True, True]  # "A ttack" is an attack


def test_swat_stage_names_above_the_header_are_skipped(tmp_path):
    path = tmp_path / "SWaT_Dataset_Normal_v1.csv"
    path.write_text(",P1,,,,P2,\n" + SWAT)
    assert load_swat(path).features.shape == (3, 5)


def test_swat_without_labels_and_with_24_hour_times(tmp_path):
    path = tmp_path / "swat.csv"
    path.write_text("Timestamp,FIT101\n28/12/2015 13:00:00,2.4\n")
    dataset = load_swat(path)
    assert dataset.labels is None
    assert dataset.features.index[0] == utc("2015-12-28 05:00:00")


def test_swat_unknown_label_is_refused(tmp_path):
    path = tmp_path / "swat.csv"
    path.write_text(SWAT.replace("A ttack", "Attak"))
    assert "first 'attak' in data row 3" in refusal(load_swat, path)


def test_swat_without_a_timestamp_column_is_refused(tmp_path):
    path = tmp_path / "swat.csv"
    path.write_text(SWAT.replace("Timestamp", "When"))
    assert "no timestamp column" in refusal(load_swat, path)


def test_swat_spreadsheet_reads_like_the_csv(tmp_path):
    path = tmp_path / "SWaT_Dataset_Attack_v0.xlsx"
    rows = [line.split(",") for line in SWAT.splitlines()]
    sheet = pd.DataFrame([["", "P1", "", "", "", "P2", ""], *rows])
    sheet.to_excel(path, header=False, index=False)
    dataset = load_swat(path)
    assert_tidy(dataset, 3)
    assert dataset.features.index[0] == utc("2015-12-28 02:00:00")
    assert dataset.labels.tolist() == [False, True, True]


# HAI ------------------------------------------------------------------------------


@pytest.mark.parametrize("time_column", ["timestamp", "time"])
def test_hai_21_03_drops_every_attack_column(tmp_path, time_column):
    path = write(
        tmp_path / "test1.csv",
        f"{time_column},P1_B2004,P1_B2016,P1_FCV01D,attack,attack_P1,attack_P2,attack_P3\n"
        "2021-07-11 10:00:00,0.10178,1.36501,11.28338,0,0,0,0\n"
        "2021-07-11 10:00:01,0.10178,1.36501,11.28338,1,1,0,0\n",
    )
    dataset = load_hai(path)
    assert_tidy(dataset, 2)
    assert list(dataset.features.columns) == ["P1_B2004", "P1_B2016", "P1_FCV01D"]
    assert dataset.features.index[0] == utc("2021-07-11 01:00:00")  # Seoul is UTC+9
    assert dataset.labels.tolist() == [False, True]


def test_hai_22_04_capital_attack_column_in_a_gzipped_file(tmp_path):
    path = tmp_path / "test1.csv.gz"
    rows = b"timestamp,P1_B2004,Attack\n2022-08-12 16:00:00,0.1,1\n2022-08-12 16:00:01,0.2,0\n"
    path.write_bytes(gzip.compress(rows))
    dataset = load_hai(path)
    assert list(dataset.features.columns) == ["P1_B2004"]
    assert dataset.labels.tolist() == [True, False]


def test_hai_20_07_semicolons(tmp_path):
    path = write(tmp_path / "train1.csv", "time;P1_B2004;attack\n2020-07-11 00:00:00;0.1;0\n")
    assert load_hai(path).features.columns.tolist() == ["P1_B2004"]


def test_hai_23_05_labels_from_a_separate_file_in_any_order(tmp_path):
    data = write(
        tmp_path / "hai-test1.csv",
        "timestamp,P1_FCV01D,P1_LIT01\n2023-08-01 09:00:00,1.0,2.0\n2023-08-01 09:00:01,1.1,2.1\n",
    )
    labels = write(
        tmp_path / "label-test1.csv",
        "timestamp,label\n2023-08-01 09:00:01,1\n2023-08-01 09:00:00,0\n",
    )
    assert load_hai(data).labels is None
    dataset = load_hai(data, labels_path=labels)
    assert_tidy(dataset, 2)
    assert dataset.labels.tolist() == [False, True]


def test_hai_label_file_for_other_times_is_refused(tmp_path):
    data = write(tmp_path / "hai-test1.csv", "timestamp,P1_LIT01\n2023-08-01 09:00:00,2.0\n")
    labels = write(tmp_path / "label-test2.csv", "timestamp,label\n2023-08-02 09:00:00,0\n")
    with pytest.raises(InputError) as caught:
        load_hai(data, labels_path=labels)
    message = str(caught.value)
    assert f"{labels}: labels do not match hai-test1.csv" in message
    assert "1 of its timestamps have no label, 1 labels are for other timestamps" in message


def test_hai_labels_twice_are_refused(tmp_path):
    data = write(tmp_path / "test1.csv", "timestamp,P1_LIT01,attack\n2021-07-11 10:00:00,2.0,0\n")
    labels = write(tmp_path / "label.csv", "timestamp,label\n2021-07-11 10:00:00,0\n")
    assert "already has a label column 'attack'" in refusal(load_hai, data, labels_path=labels)


def test_hai_truncated_gzip_is_refused(tmp_path):
    whole = gzip.compress(b"timestamp,P1_B2004\n" + b"2021-07-11 10:00:00,0.1\n" * 1000)
    path = tmp_path / "train1.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    assert "cannot read" in refusal(load_hai, path)


def test_hai_bad_timestamp_is_named(tmp_path):
    path = write(tmp_path / "test1.csv", "timestamp,P1_B2004\n2021-07-11 10:00:00,0.1\nsoon,0.2\n")
    assert "first 'soon' in data row 2" in refusal(load_hai, path)
