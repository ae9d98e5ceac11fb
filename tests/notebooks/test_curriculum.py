"""Every workshop notebook runs top to bottom, as a participant gets it (exercises
unanswered) and as an instructor gets it (every self-check passes), on the small
sample datasets."""

import os
from pathlib import Path

import nbformat
import pytest

from icslab.capstone import practice_environment
from icslab.notebooks.build import build_workshop
from icslab.notebooks.execute import QUICK, execute, printed
from icslab.notebooks.manifest import load_workshop
from icslab.notebooks.variants import contains_solutions

REPO = Path(__file__).resolve().parents[2]
BATADAL = REPO.parent / "shared" / "data" / "batadal"
WORKSHOP = load_workshop("ics-week")
MODULES = [module.file for module in WORKSHOP.modules]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_workshop(WORKSHOP, tmp_path_factory.mktemp("workshops"))


@pytest.fixture
def lab_env(tmp_path):
    env = practice_environment(tmp_path / "submissions")
    if BATADAL.is_dir():
        env["ICSLAB_BATADAL"] = str(BATADAL)
    elif os.environ.get("CI"):
        pytest.fail(f"{BATADAL} is missing: CI must run the capstone's BATADAL part")
    return env


def run(built, version, file, env, tmp_path):
    notebook = nbformat.read(built[version] / file, as_version=4)
    calls = sum(
        cell.source.count("icslab.check(") for cell in notebook.cells if cell.cell_type == "code"
    )
    executed = execute(
        notebook,
        cwd=built[version],
        parameters=QUICK,
        strict_checks=version == "instructor",
        env=env,
        timeout=300,
    )
    verdicts = [line for line in printed(executed).splitlines() if line[:1] in "✅❌"]
    return calls, verdicts


@pytest.mark.parametrize("file", MODULES)
def test_instructor_version_passes_all_its_self_checks(built, lab_env, tmp_path, file):
    calls, verdicts = run(built, "instructor", file, lab_env, tmp_path)
    assert calls >= (0 if file.startswith("00") else 3), "each module has exercises"
    assert len(verdicts) == calls and all(v.startswith("✅") for v in verdicts), verdicts


@pytest.mark.parametrize("file", MODULES)
def test_participant_version_runs_with_every_exercise_unanswered(built, lab_env, tmp_path, file):
    notebook = nbformat.read(built["participant"] / file, as_version=4)
    assert not contains_solutions(notebook)
    calls, verdicts = run(built, "participant", file, lab_env, tmp_path)
    assert len(verdicts) == calls
    assert all(v.startswith("❌") and "not answered yet" in v for v in verdicts), verdicts


def test_no_solution_code_reaches_the_participant_version(built):
    for file in MODULES:
        instructor = nbformat.read(built["instructor"] / file, as_version=4)
        participant = nbformat.read(built["participant"] / file, as_version=4)
        shown = {cell.source for cell in participant.cells}
        for cell in instructor.cells:
            if "solution" in cell.metadata.get("tags", []):
                assert cell.source not in shown, f"{file}: a solution leaked"
