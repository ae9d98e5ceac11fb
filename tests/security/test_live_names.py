"""A broadcast's name becomes a file name in DATA_DIR/live/: `icslab live stop
../lab` must not delete the lab's own lab.json (or anything else)."""

import pytest
from typer.testing import CliRunner

from icslab.cli import app
from icslab.hub.launch import planned_lab
from icslab.lab import load_inputs
from icslab.testing import EXAMPLE_ROSTER, write_roster, write_settings


@pytest.mark.parametrize("name", ["../lab", "../../etc/x", "a/b", ".hidden", "UPPER"])
def test_a_name_that_is_not_a_broadcast_name_touches_nothing(tmp_path, name):
    write_roster(tmp_path / "roster.csv", EXAMPLE_ROSTER)
    config = write_settings(tmp_path / "lab.toml")
    settings, _, members = load_inputs(config)
    lab = planned_lab(settings, config, tmp_path / "data", members)
    (lab.paths.data_dir / "live").mkdir(parents=True)
    lab.save()
    before = lab.paths.lab_file.read_bytes()
    result = CliRunner().invoke(app, ["live", "stop", name, "--data-dir", str(lab.data_dir)])
    assert result.exit_code == 2
    assert "broadcast name" in " ".join(result.output.split())
    assert lab.paths.lab_file.read_bytes() == before
