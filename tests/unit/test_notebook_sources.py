"""Scenarios: an instructor writes one source notebook with tagged solutions, and
`icslab notebooks build` turns it into a participant and an instructor version."""

from pathlib import Path

import nbformat
import pytest

from icslab.errors import InputError
from icslab.notebooks.build import build_workshop
from icslab.notebooks.execute import with_parameters
from icslab.notebooks.manifest import load_workshop
from icslab.notebooks.variants import contains_solutions, make_version, read_source

MANIFEST = """
title = "Water week"
[[modules]]
file = "01-levels.ipynb"
title = "Levels"
minutes = 20
goal = "Read a tank level"
"""


def notebook(*cells):
    nb = nbformat.v4.new_notebook()
    for kind, source, tags in cells:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        nb.cells.append(make(source, metadata={"tags": list(tags)} if tags else {}))
    return nb


LESSON = notebook(
    ("markdown", "# Levels", ()),
    ("code", 'TRAIN = "train"', ("parameters",)),
    ("code", "level = ...", ("exercise",)),
    ("code", "level = 4.2", ("solution",)),
    ("markdown", "The level is 4.2 m because ...", ("solution",)),
    ("code", 'icslab.check("levels.level", level)', ()),
)


def write_workshop(root: Path, nb=LESSON, manifest=MANIFEST) -> Path:
    """Writes root/water-week/ and returns root."""
    folder = root / "water-week"
    folder.mkdir(parents=True)
    (folder / "workshop.toml").write_text(manifest)
    nbformat.write(nb, folder / "01-levels.ipynb")
    return root


def test_participants_get_placeholders_and_instructors_get_answers():
    participant = make_version(LESSON, "participant")
    instructor = make_version(LESSON, "instructor")

    participant_code = [cell.source for cell in participant.cells]
    assert "level = ..." in participant_code
    assert "level = 4.2" not in participant_code
    assert not any("because" in source for source in participant_code)
    assert not contains_solutions(participant)

    instructor_code = [cell.source for cell in instructor.cells]
    assert "level = 4.2" in instructor_code and "level = ..." not in instructor_code
    assert contains_solutions(instructor)
    assert participant.metadata["icslab"]["version"] == "participant"


def test_generated_versions_have_no_outputs_from_the_source():
    source = nbformat.from_dict(nbformat.v4.new_notebook(cells=[c.copy() for c in LESSON.cells]))
    source.cells[3].outputs = [nbformat.v4.new_output("stream", text="secret 4.2\n")]
    source.cells[3].execution_count = 7
    for version in ("participant", "instructor"):
        for cell in make_version(source, version).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        (
            (("code", "x = ...", ("exercise",)), ("code", "print(1)", ())),
            "followed by its solution",
        ),
        ((("code", "x = 1", ("solution",)),), "must follow its exercise"),
        ((("markdown", "x?", ("exercise",)), ("code", "x = 1", ("solution",))), "code cell"),
        ((("code", "x = 1", ("exercise", "solution")),), "both exercise and solution"),
    ],
)
def test_a_broken_source_is_refused_and_the_previous_build_stays(tmp_path, cells, problem):
    out = tmp_path / "build"
    good = load_workshop("water-week", write_workshop(tmp_path / "src"))
    build_workshop(good, out)
    before = (out / "participant" / "water-week" / "01-levels.ipynb").read_bytes()

    nbformat.write(notebook(*cells), good.source(good.modules[0]))
    with pytest.raises(InputError, match=problem) as refused:
        build_workshop(load_workshop("water-week", tmp_path / "src"), out)

    assert "01-levels.ipynb: cell " in str(refused.value)
    assert (out / "participant" / "water-week" / "01-levels.ipynb").read_bytes() == before
    assert sorted(p.name for p in (out / "participant").iterdir()) == ["water-week"]


def test_build_writes_both_versions_and_a_readme(tmp_path):
    workshop = load_workshop("water-week", write_workshop(tmp_path / "src"))
    folders = build_workshop(workshop, tmp_path / "build")

    assert folders["participant"] == tmp_path / "build" / "participant" / "water-week"
    for version, folder in folders.items():
        assert sorted(p.name for p in folder.iterdir()) == ["01-levels.ipynb", "README.md"]
        assert (
            "| 01-levels.ipynb | Levels | 20 min | Read a tank level |"
            in (folder / "README.md").read_text()
        )
        built = nbformat.read(folder / "01-levels.ipynb", as_version=4)
        assert contains_solutions(built) == (version == "instructor")
    # Building again replaces the folders whole.
    build_workshop(workshop, tmp_path / "build")
    assert sorted(p.name for p in (tmp_path / "build" / "participant").iterdir()) == ["water-week"]


def test_manifest_errors_name_the_file_and_the_key(tmp_path):
    with pytest.raises(InputError, match="no such workshop"):
        load_workshop("nope", tmp_path)
    bad = MANIFEST.replace("minutes = 20", "minutes = 0").replace("01-levels", "Levels One")
    write_workshop(tmp_path, manifest=bad)
    with pytest.raises(InputError) as refused:
        load_workshop("water-week", tmp_path)
    text = str(refused.value)
    assert "workshop.toml: modules.0.minutes" in text and "modules.0.file" in text


def test_a_module_without_its_notebook_is_refused(tmp_path):
    folder = write_workshop(tmp_path) / "water-week"
    (folder / "01-levels.ipynb").unlink()
    with pytest.raises(InputError, match=r"module 01-levels\.ipynb: no such notebook"):
        load_workshop("water-week", tmp_path)


def test_a_garbled_notebook_is_refused_with_its_path(tmp_path):
    folder = write_workshop(tmp_path) / "water-week"
    (folder / "01-levels.ipynb").write_text("{ not json")
    with pytest.raises(InputError, match=r"01-levels\.ipynb: cannot read the notebook"):
        read_source(folder / "01-levels.ipynb")


def test_parameters_are_injected_after_the_parameters_cell():
    injected = with_parameters(LESSON, {"TRAIN": "sample-train"})
    assert injected.cells[2].source == "TRAIN = 'sample-train'"
    assert len(LESSON.cells) == 6  # the original is untouched
    with pytest.raises(ValueError, match="no cell tagged 'parameters'"):
        with_parameters(notebook(("code", "x = 1", ())), {"TRAIN": "x"})


def test_the_ics_week_sources_follow_the_rules():
    workshop = load_workshop("ics-week")
    assert [m.file[:2] for m in workshop.modules] == [f"{n:02d}" for n in range(9)]
    for module in workshop.modules:
        source = read_source(workshop.source(module))
        assert any("parameters" in c.metadata.get("tags", []) for c in source.cells), module.file
