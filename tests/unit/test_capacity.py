"""The capacity planner: machines for a week from measured figures, on a hand-made
figures file whose numbers make the arithmetic visible (MiB, CPU-seconds).

Per participant: module 02 is the heaviest in memory (512 MiB), 04 in CPU (120 CPU-s,
i.e. 2 cores each within the default 60 s); 1024 MiB of files shared per node; the hub
and services 1024 MiB on the manager; plants 150 MiB + 30 MiB and 1% of a core each."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from icslab.cli import app
from icslab.cluster.capacity import load_figures, parse_machine, plan, record
from icslab.errors import InputError
from icslab.paths import CAPACITY_FIGURES, REPO

MiB = 2**20
WHERE = {
    "date": "2026-12-06T21:00:00Z",
    "commit": "0123456789ab",
    "command": "bench/memory.py --participants 3 --record",
    "machine": {"cpus": 2, "memory_bytes": 24 * 1024 * MiB, "cpu_model": "a test CPU"},
}


def spread(median: float, most: float) -> dict:
    return {"median": median, "max": most}


def module(private_mib: int, cpu_seconds: float, failures: int = 0) -> dict:
    return {
        "private_bytes": spread(private_mib * MiB * 0.9, private_mib * MiB),
        "kernel_uss_bytes": spread(100 * MiB, 120 * MiB),
        "cpu_seconds": spread(cpu_seconds * 0.9, cpu_seconds),
        "peak_cores": spread(0.9, 1.0),
        "wall_seconds": spread(30, 31),
        "page_cache_growth_bytes": 400 * MiB,
        "failures": failures,
        "oom_kills": 0,
    }


MEMORY = {
    "measured": WHERE,
    "participants": 3,
    "datasets": "full (notebook defaults)",
    "idle_server_bytes": spread(120 * MiB, 128 * MiB),
    "hub_bytes": 1024 * MiB,
    "shared_data_bytes": 1024 * MiB,
    "modules": {
        "00-welcome": module(200, 1),
        "02-physics": module(512, 60),
        "04-machine-learning": module(256, 120),
    },
}
PLANT = {
    "measured": {**WHERE, "command": "bench/plant.py --record"},
    "plants": 6,
    "process_bytes": 150 * MiB,
    "per_plant_bytes": 30 * MiB,
    "per_plant_cores": 0.01,
}


@pytest.fixture
def figures_file(tmp_path):
    path = tmp_path / "capacity.json"
    path.write_text(json.dumps({"memory": MEMORY, "plant": PLANT}))
    return path


@pytest.fixture
def figures(figures_file):
    return load_figures(figures_file)


def machines(*texts):
    return [parse_machine(text) for text in texts]


# Headroom 0 unless a test is about it: 8 GiB less 1 GiB shared = 14 participants of
# 512 MiB on a worker; the manager also holds the hub's 1 GiB: 12.
def test_exactly_what_the_manager_holds_needs_one_machine_and_one_more_a_worker(figures):
    one = plan(figures, 12, machines("8G/64"), headroom=0).sizes[0]
    assert (one.machines, one.manager_holds, one.worker_holds) == (1, 12, 14)
    more = plan(figures, 13, machines("8G/64"), headroom=0).sizes[0]
    assert more.machines == 2
    assert (more.manager_participants, more.worker_participants) == (7, 6)


def test_a_full_worker_fits_and_one_participant_more_needs_another_machine(figures):
    full = plan(figures, 12 + 14, machines("8G/64"), headroom=0).sizes[0]
    assert full.machines == 2
    assert (full.manager_participants, full.worker_participants) == (12, 14)
    over = plan(figures, 12 + 14 + 1, machines("8G/64"), headroom=0).sizes[0]
    assert over.machines == 3
    assert (over.manager_participants, over.worker_participants) == (9, 9)


def test_memory_bounds_a_machine_until_its_cores_hold_fewer_than_its_memory(figures):
    # Module 04: 120 CPU-s within 60 s = 2 cores each; 28 cores hold 14, as memory does.
    by_memory, by_cpu = plan(figures, 100, machines("8G/28", "8G/27"), headroom=0).sizes
    assert (by_memory.bound, by_memory.worker_holds) == ("memory", 14)
    assert (by_cpu.bound, by_cpu.worker_holds) == ("CPU", 13)


def test_a_longer_run_allowed_needs_fewer_cores(figures):
    slow = plan(figures, 100, machines("8G/4"), headroom=0, run_seconds=120).sizes[0]
    fast = plan(figures, 100, machines("8G/4"), headroom=0, run_seconds=60).sizes[0]
    assert (slow.worker_holds, fast.worker_holds) == (4, 2)
    assert fast.machines > slow.machines


def test_headroom_is_kept_back_from_memory_and_cores(figures):
    # 16 GiB x 0.75 = 12288 MiB, less 1024 shared: 22 of 512 MiB (not 30 with none).
    kept = plan(figures, 100, machines("16G/64"), headroom=0.25).sizes[0]
    assert (kept.worker_holds, kept.bound) == (22, "memory")
    assert plan(figures, 100, machines("16G/64"), headroom=0).sizes[0].worker_holds == 30


def test_plants_take_their_place_on_the_manager_only(figures):
    # 3 plants: 150 + 3 x 30 MiB beside the hub: 8192 - 1024 - 1024 - 240 -> 11 of 512.
    without = plan(figures, 30, machines("8G/64"), teams=3, headroom=0).sizes[0]
    with_plants = plan(figures, 30, machines("8G/64"), teams=3, plant=True, headroom=0).sizes[0]
    assert (without.manager_holds, with_plants.manager_holds) == (12, 11)
    assert without.worker_holds == with_plants.worker_holds == 14


def test_teams_default_to_one_per_ten_participants(figures):
    assert plan(figures, 10, machines("8G/64")).teams == 1
    assert plan(figures, 11, machines("8G/64")).teams == 2


def test_every_assumption_is_said_with_the_figures_it_used(figures):
    said = " ".join(plan(figures, 60, machines("32G/8"), teams=6, plant=True).assumptions)
    assert "Everyone runs module 02-physics at the same moment" in said
    assert "512 MiB" in said
    assert "module 04-machine-learning's cells" in said and "2.00 cores each" in said
    assert "15% of its memory and cores" in said
    assert "the 6 teams' plants" in said
    assert "bench/memory.py --participants 3 --record" in said


def test_a_module_that_failed_when_measured_is_called_out(figures_file):
    broken = {**MEMORY, "modules": {**MEMORY["modules"], "05-network": module(100, 1, 2)}}
    figures_file.write_text(json.dumps({"memory": broken, "plant": PLANT}))
    said = plan(load_figures(figures_file), 10, machines("8G/8")).assumptions
    assert any("module 05-network had 2 failed runs" in line for line in said)


@pytest.mark.parametrize(
    ("participants", "teams", "problem"),
    [
        (0, None, "--participants 0: plan for at least 1 participant"),
        (-5, None, "--participants -5: plan for at least 1 participant"),
        (6, 7, "--teams 7: between 1 and the 6 participants"),
        (6, 0, "--teams 0: between 1 and the 6 participants"),
    ],
)
def test_impossible_counts_are_refused(figures, participants, teams, problem):
    with pytest.raises(InputError) as refused:
        plan(figures, participants, machines("8G/8"), teams=teams)
    assert refused.value.problems[0].startswith(problem)


def test_as_many_teams_as_participants_is_allowed(figures):
    assert plan(figures, 6, machines("8G/8"), teams=6).teams == 6


def test_a_machine_that_cannot_hold_one_participant_is_refused(figures_file):
    figures_file.write_text(json.dumps({"memory": {**MEMORY, "hub_bytes": 0}, "plant": PLANT}))
    figures = load_figures(figures_file)
    # 1.5 GiB less 1 GiB shared holds one 512 MiB participant; 1535 MiB holds none.
    assert plan(figures, 5, machines("1536M/64"), headroom=0).sizes[0].machines == 5
    with pytest.raises(InputError) as refused:
        plan(figures, 5, machines("1535M/64", "1G/1"), headroom=0)
    assert len(refused.value.problems) == 2
    assert refused.value.problems[0].startswith("--machine 1535M/64: holds no participant at work")
    assert "ask for a bigger machine" in refused.value.problems[0]


def test_a_manager_too_small_for_the_hub_and_plants_is_refused(figures):
    # 2 GiB: 1 GiB shared + 1 GiB hub leaves the manager 0 participants, and no plants.
    assert plan(figures, 5, machines("2G/64"), headroom=0).sizes[0].manager_holds == 0
    with pytest.raises(InputError, match="too small for the manager's hub and services and"):
        plan(figures, 5, machines("2G/64"), plant=True, headroom=0)


@pytest.mark.parametrize("text", ["32GB", "32G", "32G/0", "0G/8", "lots/8", "32X/8", ""])
def test_a_machine_size_must_read_memory_over_cores(text):
    with pytest.raises(InputError, match="write MEMORY/CORES"):
        parse_machine(text)


@pytest.mark.parametrize(
    ("text", "mib", "cores"),
    [("32G/8", 32 * 1024, 8), ("512M/1", 512, 1), ("1.5GiB/2", 1536, 2), ("1t/96", 2**20, 96)],
)
def test_machine_sizes_in_binary_units(text, mib, cores):
    size = parse_machine(text)
    assert (size.memory_bytes, size.cores) == (mib * MiB, cores)


@pytest.mark.parametrize(
    ("headroom", "run_seconds", "problem"),
    [(1.0, 120, "--headroom 1"), (-0.1, 120, "--headroom -0.1"), (0.1, 0, "--run-seconds 0")],
)
def test_headroom_and_run_time_out_of_range_are_refused(figures, headroom, run_seconds, problem):
    with pytest.raises(InputError, match=re.escape(problem)):
        plan(figures, 10, machines("8G/8"), headroom=headroom, run_seconds=run_seconds)


# --- the figures file -------------------------------------------------------------------


def test_a_missing_figures_file_says_how_to_measure_it(tmp_path):
    with pytest.raises(InputError, match=r"no capacity figures; measure them with `icslab bench"):
        load_figures(tmp_path / "capacity.json")


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "\xff\xfe"])
def test_a_corrupt_figures_file_says_to_restore_it(figures_file, text):
    figures_file.write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError, match="restore it from git"):
        load_figures(figures_file)


def test_a_part_missing_or_wrong_is_named(figures_file):
    figures_file.write_text(json.dumps({"memory": MEMORY}))
    with pytest.raises(InputError, match=r"no 'plant' figures; measure them with `icslab bench"):
        load_figures(figures_file)
    figures_file.write_text(json.dumps({"memory": {**MEMORY, "modules": {}}, "plant": PLANT}))
    with pytest.raises(InputError, match=r"memory\.modules: .*at least 1 item"):
        load_figures(figures_file)


def test_a_bench_records_its_part_and_keeps_the_others(figures_file):
    record("plant", {**PLANT, "per_plant_bytes": 40 * MiB}, figures_file)
    saved = json.loads(figures_file.read_text())
    assert saved["plant"]["per_plant_bytes"] == 40 * MiB
    assert saved["memory"] == load_figures(figures_file).memory.model_dump(mode="json")


def test_a_bench_records_into_a_file_not_there_yet(tmp_path):
    path = tmp_path / "figures" / "capacity.json"
    record("memory", MEMORY, path)
    assert list(json.loads(path.read_text())) == ["memory"]


def test_bad_figures_are_never_recorded_and_the_file_is_left_as_it_was(figures_file):
    before = figures_file.read_bytes()
    with pytest.raises(ValueError, match="private_bytes"):
        record("memory", {**MEMORY, "modules": {"00": {"private_bytes": 1}}}, figures_file)
    figures_file.write_bytes(b"{half a fi")
    with pytest.raises(InputError, match="not a capacity figures file"):
        record("plant", PLANT, figures_file)
    assert figures_file.read_bytes() == b"{half a fi"
    assert before != b"{half a fi"


# --- the command ------------------------------------------------------------------------


def capacity(*args):
    return CliRunner().invoke(app, ["capacity", *args], env={"COLUMNS": "200"})


def test_the_command_prints_the_plan_and_its_assumptions(figures_file):
    result = capacity("--participants", "27", "--machine", "8G/64", "--headroom", "0",
                      "--figures", str(figures_file))  # fmt: skip
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "8G/64" in line)
    cells = [cell.strip() for cell in line.strip("│ ").split("│")]
    assert cells == ["8G/64", "3", "memory", "12", "14", "9", "9"]
    assert "Everyone runs module 02-physics at the same moment" in result.output


def test_several_counts_make_a_table_of_machines(figures_file):
    result = capacity("-p", "12", "-p", "13", "--machine", "8G/64", "--machine", "8G/4",
                      "--headroom", "0", "--figures", str(figures_file), "--markdown")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "| participants | plants | 8G/64 | 8G/4 |",
        "| --- | --- | --- | --- |",
        "| 12 | none | 1 (memory) | 6 (CPU) |",
        "| 13 | none | 2 (memory) | 7 (CPU) |",
    ]


def test_the_command_lists_everything_to_fix_at_once(figures_file, tmp_path):
    result = capacity("-p", "0", "-p", "-1", "--machine", "8G/8", "--machine", "3G",
                      "--headroom", "1", "--figures", str(figures_file))  # fmt: skip
    assert result.exit_code == 2
    problems = [line for line in result.output.splitlines() if line.startswith("  - ")]
    assert problems == [
        "  - --participants 0: plan for at least 1 participant",
        "  - --headroom 1: a fraction of each machine, from 0 to below 1",
        "  - --participants -1: plan for at least 1 participant",
        "  - --machine '3G': write MEMORY/CORES with M, G or T, e.g. 32G/8 (32 GiB of memory, "
        "8 cores)",
    ]
    result = capacity("-p", "10", "--figures", str(tmp_path / "none.json"))
    assert result.exit_code == 2
    assert "no capacity figures" in result.output


# --- the README's sizing tables ---------------------------------------------------------


def test_the_readmes_sizing_tables_are_what_the_planner_prints_for_the_committed_figures():
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Sizing\n", 1)[1].split("\n## ", 1)[0]
    tables = re.findall(r"```sh\n\.venv/bin/icslab (capacity [^\n]*)\n```\n\n((?:\|[^\n]*\n)+)",
                        section)  # fmt: skip
    assert len(tables) == 2, "the Sizing section shows each table under the command that made it"
    for command, table in tables:
        assert "--figures" not in command  # the committed figures
        result = CliRunner().invoke(app, command.split())
        assert result.exit_code == 0, result.output
        assert result.output == table, f"README.md is stale: run `icslab {command}`"
    load_figures(CAPACITY_FIGURES)  # and they are the committed file, whole


def test_make_bench_records_the_figures_the_planner_reads(monkeypatch):
    import icslab.cli.develop

    ran = []
    monkeypatch.setattr(
        icslab.cli.develop.subprocess, "call", lambda command: ran.append(command) or 0
    )
    result = CliRunner().invoke(app, ["bench", "memory", "plant", "spawn"])
    assert result.exit_code == 0, result.output
    assert [command[1:] for command in ran] == [
        ["bench/memory.py", "--record"],
        ["bench/plant.py", "--record"],
        ["bench/spawn.py"],
    ]


def test_figures_that_say_a_participant_takes_no_memory_are_refused(figures_file):
    empty = {**MEMORY, "modules": {"00-welcome": module(0, 1)}}
    figures_file.write_text(json.dumps({"memory": empty, "plant": PLANT}))
    with pytest.raises(InputError, match="they were not measured; measure again"):
        plan(load_figures(figures_file), 10, machines("8G/8"))
