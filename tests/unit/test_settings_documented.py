"""hub_config/lab.toml documents the settings in the schema's own words: every key it
writes (or shows commented out) is a setting, and every setting is there, below a
comment that begins with the setting's description in icslab/settings.py."""

import re
import tomllib

import pytest

from icslab.paths import HUB_CONFIG
from icslab.settings import LabSettings

LAB_TOML = HUB_CONFIG / "lab.toml"
TABLE = re.compile(r"^\[([A-Za-z_][A-Za-z0-9_]*)\]$")
# `key = value`, or `# key = value`: an optional setting shown with an example value.
KEY = re.compile(r"^(?:#\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*\S")


def words(text: str) -> str:
    return " ".join(text.split())


def comments(text: str) -> dict[tuple[str | None, str], tuple[int, str]]:
    """(table, key) -> (its line, the comment lines right above it, as one line)."""
    found: dict[tuple[str | None, str], tuple[int, str]] = {}
    table, above = None, []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if header := TABLE.match(line):
            table, above = header.group(1), []
        elif key := KEY.match(line):
            found.setdefault((table, key.group(1)), (number, words(" ".join(above))))
            above = []  # a key right below another has no comment of its own
        elif line.startswith("#"):
            above.append(line.removeprefix("#"))
        else:
            above = []
    return found


def schema() -> dict[tuple[str, str], str | None]:
    """(table, key) -> the setting's description, for every setting."""
    return {
        (table, key): setting.description
        for table, section in LabSettings.model_fields.items()
        for key, setting in section.annotation.model_fields.items()
    }


def disagreements(text: str) -> list[str]:
    """Where the file and the schema differ; empty when they say the same."""
    written, settings = comments(text), schema()
    found = [
        f"lab.toml:{number}: {table}.{key} is no setting of icslab.settings.LabSettings"
        for (table, key), (number, _) in written.items()
        if (table, key) not in settings
    ]
    for (table, key), description in settings.items():
        if not description:
            found.append(f"settings.py: {table}.{key} has no description")
        elif (table, key) not in written:
            found.append(f"lab.toml: {table}.{key} is missing (write it, or show it commented)")
        else:
            number, comment = written[table, key]
            said = words(description)
            if comment != said and not comment.startswith(said + " "):
                found.append(
                    f"lab.toml:{number}: the comment above {table}.{key} does not begin with "
                    f"its description in settings.py:\n  lab.toml:    {comment!r}\n"
                    f"  settings.py: {said!r}"
                )
    return found


def test_the_comments_in_lab_toml_are_the_settings_descriptions():
    found = disagreements(LAB_TOML.read_text(encoding="utf-8"))
    assert not found, "\n".join(found)


def test_the_settings_shown_commented_out_are_valid_too():
    text = LAB_TOML.read_text(encoding="utf-8")
    uncommented = re.sub(r"(?m)^#\s*(?=[A-Za-z_][A-Za-z0-9_]*\s*=\s*\S)", "", text)
    assert uncommented != text
    LabSettings.model_validate(tomllib.loads(uncommented))


@pytest.mark.parametrize(
    "change, named",
    [
        (("# Most processes", "# Most programs"), "docker.pids_limit does not begin"),
        (("pids_limit = 512", "pid_limit = 512"), "docker.pid_limit is no setting"),
        (("# Most processes a participant's container may run.\n", ""), "docker.pids_limit"),
        (("egress = false\n", ""), "docker.egress is missing"),
    ],
)
def test_a_comment_or_key_that_differs_from_the_schema_is_named(change, named):
    text = LAB_TOML.read_text(encoding="utf-8")
    assert change[0] in text
    found = disagreements(text.replace(*change, 1))
    assert any(named in problem for problem in found), found
