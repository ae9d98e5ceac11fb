"""A participant moved to another team (or out of the roster) must not keep the old
team's folder: their container mounts it until it restarts, and containers outlive
a hub restart. `icslab up` with the changed roster stops that server and says so."""

import os

import pytest

from icslab.hub.docker_env import engine_answers
from icslab.testing import EXAMPLE_ROSTER, docker_lab

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not engine_answers() and not os.environ.get("CI"), reason="no Docker engine answers"
    ),
]
TEAM = "/home/jovyan/work/team"


def container(engine, prefix, user):
    found = engine.containers.list(all=True, filters={"name": f"{prefix}-{user}"})
    return next((c for c in found if c.name == f"{prefix}-{user}"), None)


def test_a_moved_participant_loses_the_old_teams_folder_at_the_next_up(tmp_path, engine, prefix):
    with docker_lab(tmp_path, prefix) as lab:
        p01, p02, p03 = (lab.login(name) for name in ("p01", "p02", "p03"))
        for member in (p01, p02, p03):
            member.start_server()
        p01.run_code(f"open('{TEAM}/water-plan.txt', 'w').write('water only')")
        p03.run_code(f"open('{TEAM}/power-plan.txt', 'w').write('power only')")
        p03_container = container(engine, prefix, "p03").id

        lab.stop()
        # p01 moves from water to power; p02 leaves the roster; p03 stays.
        moved = [
            ("p01", "power", "participant") if row[0] == "p01" else row for row in EXAMPLE_ROSTER
        ]
        lab.set_roster([row for row in moved if row[0] != "p02"])
        lab.start()

        log = lab.logs()
        assert "stopped p01's server (changed team in the roster)" in log
        assert "stopped p02's server (left the roster)" in log
        assert container(engine, prefix, "p01") is None and container(engine, prefix, "p02") is None
        assert container(engine, prefix, "p03").id == p03_container  # untouched

        p01 = lab.login("p01")
        p01.start_server()
        assert p01.run_code(f"import os; print(sorted(os.listdir('{TEAM}')))") == (
            "['power-plan.txt']\n"
        )
        assert p01.run_code("import os; print(os.environ['ICSLAB_TEAM'])") == "power\n"
