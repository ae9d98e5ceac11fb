"""lab.toml: the example is valid; every mistake names its file, line and key."""

from pathlib import Path

import pytest
from settings_fixtures import EXAMPLE, problems, settings_file

from icslab.errors import InputError
from icslab.settings import load_settings


def test_the_shipped_settings_are_valid():
    settings = load_settings(EXAMPLE)
    assert settings.hub.public_url == "http://127.0.0.1:8000"
    assert settings.tls.mode == "off"
    assert settings.hub.spawner == "auto"
    assert settings.hub.roster == Path("roster.example.csv")


def test_only_the_title_is_required_and_the_rest_has_defaults(tmp_path):
    settings = load_settings(settings_file(tmp_path, '[workshop]\ntitle = "Water week"\n'))
    assert settings.workshop.title == "Water week"
    assert (settings.hub.public_port, settings.hub.default_url) == (8000, "/lab")
    assert (settings.tls_on, settings.user_origins) == (False, False)
    assert (settings.limits.memory, settings.limits.cpus) == ("1536M", 1.0)
    assert settings.culler.idle_timeout_minutes == 60
    assert settings.accounts.max_failed_logins == 5


def test_a_missing_title_names_the_setting(tmp_path):
    found = problems(tmp_path, '[workshop]\n\n[hub]\npublic_url = "http://127.0.0.1:8000"\n')
    assert found == [f"{tmp_path / 'lab.toml'}:1: workshop.title is required but missing"]


def test_every_bad_value_is_reported_with_its_line(tmp_path):
    text = (
        '[workshop]\ntitle = "x"\n'
        "[hub]\nhttp_port = 70000\n"  # line 4
        'spawner = "kubernetes"\n'  # line 5
        "[limits]\n"
        'memory = "lots"\n'  # line 7
        "cpus = 0\n"  # line 8
    )
    found = problems(tmp_path, text)
    path = tmp_path / "lab.toml"
    assert len(found) == 4
    assert found[0].startswith(f"{path}:4: hub.http_port = 70000: ")
    assert "less than or equal to 65535" in found[0]
    assert found[1].startswith(f"{path}:5: hub.spawner = 'kubernetes': ")
    assert "'auto', 'local' or 'docker'" in found[1]
    assert found[2] == (
        f"{path}:7: limits.memory = 'lots': must be a size such as 512M or 2G (suffix K, M, G or T)"
    )
    assert found[3].startswith(f"{path}:8: limits.cpus = 0: ")


def test_spare_kernels_must_be_a_small_count(tmp_path):
    found = problems(tmp_path, '[workshop]\ntitle = "x"\n[limits]\nspare_kernels = -1\n')
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path / 'lab.toml'}:4: limits.spare_kernels = -1: ")
    assert "greater than or equal to 0" in found[0]


def test_a_misspelt_key_is_refused(tmp_path):
    found = problems(tmp_path, '[workshop]\ntitle = "x"\n[culler]\nidle_timeout = 5\n')
    assert found == [
        f"{tmp_path / 'lab.toml'}:4: unknown setting culler.idle_timeout "
        "(check its spelling against the comments)"
    ]


def test_a_misspelt_table_is_refused_rather_than_its_settings_left_at_default(tmp_path):
    found = problems(tmp_path, '[workshop]\ntitle = "x"\n[limts]\nmemory = "1G"\n')
    assert found == [
        f"{tmp_path / 'lab.toml'}:3: unknown setting limts "
        "(check its spelling against the comments)"
    ]


def test_malformed_toml_says_where(tmp_path):
    (found,) = problems(tmp_path, '[workshop]\ntitle = "unclosed\n')
    assert "not valid TOML" in found and "line 2" in found


def test_a_default_url_must_be_a_path(tmp_path):
    (found,) = problems(tmp_path, '[workshop]\ntitle = "x"\n[hub]\ndefault_url = "lab"\n')
    assert found.endswith("hub.default_url = 'lab': must start with '/', e.g. '/lab'")


def test_a_missing_file_says_how_to_point_at_one(tmp_path):
    with pytest.raises(InputError, match="settings file not found"):
        load_settings(tmp_path / "nope.toml")


def test_a_workshop_to_pull_must_be_a_workshop_name(tmp_path):
    found = problems(
        tmp_path, '[workshop]\ntitle = "x"\n[material]\npull_on_start = ["ics-week", "../etc"]\n'
    )
    assert len(found) == 1 and "material.pull_on_start.1" in found[0]


def test_the_example_publishes_the_week_pulls_it_and_lands_on_it():
    material = load_settings(EXAMPLE).material
    assert (material.publish, material.pull_on_start) == (["ics-week"], ["ics-week"])
    assert material.landing == "ics-week"


def test_the_landing_must_be_a_pulled_workshop_or_a_path_inside_one(tmp_path):
    def material(landing):
        return (
            '[workshop]\ntitle = "x"\n[material]\npull_on_start = ["ics-week"]\n'
            f'landing = "{landing}"\n'
        )

    for fine in ("ics-week", "ics-week/05-network.ipynb", "ics-week/day2/plan.ipynb"):
        assert load_settings(settings_file(tmp_path, material(fine))).material.landing == fine
    [unpulled] = problems(tmp_path, material("water-week/01-levels.ipynb"))
    assert "material.landing" in unpulled and "add it to material.pull_on_start" in unpulled
    [outside] = problems(tmp_path, material("ics-week/../../etc/passwd"))
    assert "lab.toml:5" in outside and "material.landing" in outside
    [odd] = problems(tmp_path, material("ics week"))
    assert "material.landing" in odd
