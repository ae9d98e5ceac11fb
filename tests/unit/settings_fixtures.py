"""What the settings tests share: a lab.toml written from text, and the problems
loading it reports."""

import pytest

from icslab.errors import InputError
from icslab.paths import REPO, SETTINGS_FILE
from icslab.settings import load_settings

EXAMPLE = REPO / SETTINGS_FILE  # the shipped hub_config/lab.toml


def settings_file(tmp_path, text):
    path = tmp_path / "lab.toml"
    path.write_text(text)
    return path


def problems(tmp_path, text):
    with pytest.raises(InputError) as caught:
        load_settings(settings_file(tmp_path, text))
    return caught.value.problems
