"""A dataset's telemetry is memory-mapped from scada.arrow, not decoded per kernel:
every kernel on a host shares one copy, and a participant's changes stay theirs."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.utils import check_array

from icslab.data import load_plant
from icslab.files import file_sha256
from icslab.formats import MODBUS_ARROW, MODBUS_FILE, SCADA_ARROW, SCADA_FILE, read_traffic


def mapped_ranges(path) -> list[tuple[int, int]]:
    """This process's mappings of `path` (from /proc/self/maps)."""
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            if line.rstrip().endswith(str(path)):
                start, end = (int(part, 16) for part in line.split()[0].split("-"))
                ranges.append((start, end))
    return ranges


def in_mapping(values: np.ndarray, ranges: list[tuple[int, int]]) -> bool:
    address = values.__array_interface__["data"][0]
    return any(start <= address and address + values.nbytes <= end for start, end in ranges)


@pytest.mark.parametrize("dataset", ["sample", "sample-train"])
def test_every_tag_column_is_a_view_of_scada_arrow(dataset):
    week = load_plant(dataset)
    ranges = mapped_ranges(week.folder / SCADA_ARROW)
    assert ranges, "scada.arrow is not mapped"
    columns = week.features.columns
    mapped = [tag for tag in columns if in_mapping(week.features[tag].to_numpy(), ranges)]
    assert mapped == list(columns)  # all 63 tags
    assert len(columns) == 63
    # The UTC index is the one copy a kernel makes: localising the file's timestamps
    # costs 8 bytes a second (5 MB for the 7-day week).


@pytest.mark.parametrize("dataset", ["sample", "sample-train"])
def test_the_whole_week_is_read_in_place_not_consolidated_into_a_copy(dataset):
    """pandas and scikit-learn take the frame as one array (to_numpy, resample, a
    detector's fit): the tags lie back to back in the file, so that array is the mapping."""
    week = load_plant(dataset)
    size = week.features.to_numpy().nbytes
    assert in_mapping(week.features.to_numpy(), mapped_ranges(week.folder / SCADA_ARROW))
    # the control: the same values, one block per column (what a view per column gives)
    per_column = pd.DataFrame(
        {tag: week.features[tag].to_numpy().copy() for tag in week.features},
        index=week.features.index,
        copy=False,
    )

    def allocated(work, frame) -> int:
        tracemalloc.start()
        try:
            work(frame)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    for work in (
        lambda frame: frame.to_numpy(),
        lambda frame: frame.resample("1min").mean(),
        lambda frame: check_array(frame, dtype=np.float64),  # what every detector's fit does
    ):
        assert allocated(work, week.features) < size / 4
        assert allocated(work, per_column) >= size


@pytest.mark.parametrize("dataset", ["sample", "sample-train"])
def test_the_mapped_telemetry_is_the_parquet_export_bit_for_bit(dataset):
    week = load_plant(dataset)
    exported = pq.read_table(week.folder / SCADA_FILE).to_pandas().set_index("timestamp")
    pd.testing.assert_frame_equal(week.features, exported, check_exact=True)
    assert (week.features.dtypes == "float64").all()


def test_a_participant_changes_their_frame_and_neither_the_file_nor_others_see_it():
    week = load_plant("sample")
    arrow = week.folder / SCADA_ARROW
    before = file_sha256(arrow)
    first = week.features.index[0]
    original = week.features.loc[first, "LIT101"]

    week.features.loc[first, "LIT101"] = -1.0  # as a participant's notebook might
    week.features["LIT401"] *= 2

    assert week.features.loc[first, "LIT101"] == -1.0
    again = load_plant("sample")  # another kernel, or the same one loading again
    assert again.features.loc[first, "LIT101"] == original
    assert file_sha256(arrow) == before


def test_the_modbus_log_is_mapped_too_and_reads_as_the_parquet_export():
    week = load_plant("sample")
    traffic = week.modbus()
    pd.testing.assert_frame_equal(
        traffic, read_traffic(week.folder / MODBUS_FILE), check_exact=True
    )
    ranges = mapped_ranges(week.folder / MODBUS_ARROW)
    numbers = ["unit_id", "function_code", "address", "count", "exception_code", "response_ms"]
    assert [c for c in numbers if in_mapping(traffic[c].to_numpy(), ranges)] == numbers
    original = traffic.loc[0, "address"]
    traffic.loc[0, "address"] = original + 1  # a participant's change is theirs alone
    assert traffic.loc[0, "address"] == original + 1
    assert week.modbus().loc[0, "address"] == original
