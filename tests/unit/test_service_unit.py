"""`icslab service install|status`: the systemd unit that runs a lab unattended."""

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icslab.cli import app as icslab
from icslab.hub import service_unit
from icslab.testing import EXAMPLE_ROSTER, write_roster, write_settings


@pytest.fixture
def lab_files(tmp_path):
    """A lab's settings and roster in a folder with a blank in its name (quoting)."""
    folder = tmp_path / "ics week"
    folder.mkdir()
    write_roster(folder / "roster.csv", EXAMPLE_ROSTER)
    config = write_settings(folder / "lab.toml", workshop={"title": "Water 100% week"})
    return config, folder / "state"


def install(config: Path, data_dir: Path, unit_dir: Path, *more: str):
    args = ["install", "--config", str(config), "--data-dir", str(data_dir)]
    return CliRunner().invoke(icslab, ["service", *args, "--unit-dir", str(unit_dir), *more])


def read_unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None)
    unit.optionxform = str  # keys are case-sensitive
    unit.read_string(path.read_text())
    return unit


@pytest.mark.parametrize("spawner", ["docker", "local"])
def test_the_unit_runs_this_venvs_icslab_up_and_restarts_it(lab_files, tmp_path, spawner):
    config, data_dir = lab_files
    result = install(config, data_dir, tmp_path, "--spawner", spawner)
    assert result.exit_code == 0, result.output
    assert "systemctl daemon-reload && systemctl enable --now icslab.service" in result.output

    unit = read_unit(tmp_path / "icslab.service")
    service = unit["Service"]
    icslab = Path(service_unit.ICSLAB)
    assert icslab.is_absolute() and icslab.exists()
    # Paths quoted (a blank in them), the % of the title escaped for systemd.
    assert service["ExecStart"] == (
        f'{icslab} up --config "{config.resolve()}" --data-dir "{data_dir.resolve()}" '
        f"--spawner {spawner}"
    )
    assert unit["Unit"]["Description"] == "icslab: Water 100%% week"
    assert service["Environment"].strip('"').startswith(f"PATH={icslab.parent}:")
    assert service["WorkingDirectory"] == str(Path.cwd())
    assert (service["Restart"], service["KillMode"], service["KillSignal"]) == (
        "on-failure",
        "mixed",
        "SIGTERM",
    )
    assert int(service["RestartSec"]) > 0 and int(service["TimeoutStopSec"]) >= 60
    assert int(unit["Unit"]["StartLimitBurst"]) > 1
    assert int(unit["Unit"]["StartLimitIntervalSec"]) > 0
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    needs = "network-online.target" + (" docker.service" if spawner == "docker" else "")
    assert (unit["Unit"]["After"], unit["Unit"]["Wants"]) == (needs, needs)


def test_a_different_unit_is_kept_unless_forced(lab_files, tmp_path):
    config, data_dir = lab_files
    assert install(config, data_dir, tmp_path, "--spawner", "local").exit_code == 0
    unit = tmp_path / "icslab.service"
    first = unit.read_text()

    again = install(config, data_dir, tmp_path, "--spawner", "local")
    assert again.exit_code == 0 and "unchanged" in again.output

    other = install(config, tmp_path / "other", tmp_path, "--spawner", "local")
    assert other.exit_code == 2
    assert "exists with different content" in other.output and "--force" in other.output
    assert unit.read_text() == first

    forced = install(config, tmp_path / "other", tmp_path, "--spawner", "local", "--force")
    assert forced.exit_code == 0 and "replaced" in forced.output
    assert str(tmp_path / "other") in unit.read_text()


def test_the_unit_is_named_after_the_labs_prefix(lab_files, tmp_path):
    config, data_dir = lab_files
    write_settings(config, docker={"prefix": "water"})
    assert install(config, data_dir, tmp_path, "--spawner", "local").exit_code == 0
    assert (tmp_path / "icslab-water.service").exists()


def test_bad_settings_write_no_unit(tmp_path):
    config = tmp_path / "lab.toml"
    config.write_text('[workshop]\ntitle = ""\n')
    result = install(config, tmp_path / "state", tmp_path, "--spawner", "local")
    assert result.exit_code == 2
    assert not list(tmp_path.glob("*.service"))


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze")
@pytest.mark.parametrize("spawner", ["docker", "local"])
def test_systemd_accepts_the_unit(lab_files, tmp_path, spawner):
    config, data_dir = lab_files
    units = tmp_path / "units"
    assert install(config, data_dir, units, "--spawner", spawner).exit_code == 0
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(units / "icslab.service")],
        capture_output=True,
        text=True,
    )
    # It names any unknown key, bad quoting or missing executable, and fails on them.
    assert verify.returncode == 0, verify.stderr
    assert "icslab.service" not in verify.stderr, verify.stderr


def test_without_systemd_install_needs_a_unit_dir_and_status_says_so(
    lab_files, tmp_path, monkeypatch
):
    monkeypatch.setattr(service_unit, "SYSTEMD_RUNS", tmp_path / "no-systemd")
    config, data_dir = lab_files
    args = ["install", "--config", str(config), "--spawner", "local"]
    refused = CliRunner().invoke(icslab, ["service", *args])
    assert refused.exit_code == 2 and "does not run systemd" in refused.output

    written = install(config, data_dir, tmp_path, "--spawner", "local")
    assert written.exit_code == 0 and "does not run systemd" in written.output
    assert (tmp_path / "icslab.service").exists()

    shown = CliRunner().invoke(icslab, ["service", "status", "--config", str(config)])
    assert shown.exit_code == 0 and "does not run systemd" in shown.output


def test_status_tells_a_failed_unit_and_its_restarts():
    properties = {
        "LoadState": "loaded",
        "ActiveState": "failed",
        "SubState": "failed",
        "Result": "exit-code",
        "NRestarts": "5",
        "StateChangeTimestamp": "Sun 2026-12-06 08:00:01 UTC",
        "ExecMainStatus": "2",
        "FragmentPath": "/etc/systemd/system/icslab.service",
    }
    lines = service_unit.describe("icslab.service", properties)
    assert lines[0] == "icslab.service: failed (failed) since Sun 2026-12-06 08:00:01 UTC"
    assert "restarted 5 times" in lines[1]
    assert "failed: exit-code, exit status 2" in "\n".join(lines)
    missing = service_unit.describe("icslab.service", {"LoadState": "not-found"})
    assert "not installed" in missing[0]
