"""[workshop] languages: the JupyterLab language packs participants may pick, validated
once, put in the image by its build and in local mode's folders by `make install`;
`icslab up` refuses a lab whose packs are missing where its servers run."""

import pytest
from settings_fixtures import EXAMPLE, problems, settings_file
from traitlets.config import Config
from typer.testing import CliRunner

from icslab import images, languages
from icslab.cli import app
from icslab.errors import InputError
from icslab.hub import configure
from icslab.hub.docker_env import require_languages
from icslab.settings import load_settings
from icslab.testing import write_roster, write_settings


def test_the_example_offers_indo_pacific_languages_besides_english():
    listed = load_settings(EXAMPLE).workshop.languages
    assert {"ja-JP", "ko-KR", "id-ID", "vi-VN", "zh-CN", "zh-TW"} <= set(listed)
    assert set(listed) <= set(languages.LANGUAGES)


def test_known_languages_are_accepted_each_once_in_the_order_written(tmp_path):
    text = '[workshop]\ntitle = "x"\nlanguages = ["vi-VN", "ja-JP", "vi-VN"]\n'
    assert load_settings(settings_file(tmp_path, text)).workshop.languages == ["vi-VN", "ja-JP"]


def test_no_languages_means_english_only(tmp_path):
    assert (
        load_settings(settings_file(tmp_path, '[workshop]\ntitle = "x"\n')).workshop.languages == []
    )
    text = '[workshop]\ntitle = "x"\nlanguages = []\n'
    assert load_settings(settings_file(tmp_path, text)).workshop.languages == []


def test_a_misspelt_language_is_refused_with_the_one_meant_and_the_form(tmp_path):
    found = problems(tmp_path, '[workshop]\ntitle = "x"\n\nlanguages = ["ko-KR", "ja_jp"]\n')
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path / 'lab.toml'}:4: workshop.languages = ")
    assert "no JupyterLab language pack for 'ja_jp' (did you mean 'ja-JP'?): " in found[0]
    assert "write each as language-REGION, e.g. 'ja-JP'" in found[0]


def test_an_unknown_language_is_refused_listing_the_ones_there_are(tmp_path):
    (found,) = problems(tmp_path, '[workshop]\ntitle = "x"\nlanguages = ["tl-PH", "klingon"]\n')
    assert "no JupyterLab language pack for 'tl-PH', 'klingon': " in found
    assert "ja-JP, ko-KR" in found  # the valid ones, in the setting's form


def test_a_language_without_its_region_is_told_the_ones_there_are(tmp_path):
    (found,) = problems(tmp_path, '[workshop]\ntitle = "x"\nlanguages = ["zh", "ja"]\n')
    assert "for 'zh' (did you mean 'zh-CN' or 'zh-TW'?), 'ja' (did you mean 'ja-JP'?): " in found


def test_each_pack_is_pinned_and_named_as_jupyterlab_names_its_locale():
    assert languages.requirement("zh-TW") == "jupyterlab-language-pack-zh-tw==4.5.post3"
    assert languages.locale("zh-TW") == "zh_TW"


# --- the image ---------------------------------------------------------------------------


def test_the_wheelhouse_holds_every_pack_so_a_new_list_downloads_nothing():
    packs = images.every_language_pack()
    assert len(packs) == len(languages.LANGUAGES)
    assert all("==" in pack for pack in packs)
    key = images.wheelhouse_key("pandas==3.1.1\n", [], [])
    assert key == images.wheelhouse_key("pandas==3.1.1\n", [], [])


def test_the_image_installs_and_labels_exactly_the_listed_packs():
    assert images.language_build_args(["ja-JP", "ko-KR"]) == [
        "--build-arg",
        "ICSLAB_LANGUAGE_PACKS=ja-JP=jupyterlab-language-pack-ja-jp==4.5.post3 "
        "ko-KR=jupyterlab-language-pack-ko-kr==4.5.post3",
        "--build-arg",
        "ICSLAB_LANGUAGES=ja-JP,ko-KR",
    ]
    assert images.language_build_args([]) == [
        "--build-arg", "ICSLAB_LANGUAGE_PACKS=", "--build-arg", "ICSLAB_LANGUAGES="
    ]  # fmt: skip
    dockerfile = images.DOCKERFILE.read_text()
    assert "$ICSLAB_LANGUAGE_PACKS" in dockerfile
    assert f'--target "{languages.IMAGE_LANGUAGE_PACKS}/${{pack%%=*}}"' in dockerfile
    assert f"{languages.IMAGE_LABEL}=${{ICSLAB_LANGUAGES}}" in dockerfile


def test_an_image_built_for_other_languages_is_stale():
    english = images.inputs_hash(images.current_inputs(languages=[]))
    assert images.inputs_hash(images.current_inputs(languages=["ja-JP"])) != english
    assert images.inputs_hash(images.current_inputs()) == english


class Engine:
    """docker.DockerClient's images.get, for an image with these labels."""

    def __init__(self, labels):
        self.images = self
        self.labels = labels

    def get(self, name):
        return self


def test_up_in_docker_mode_refuses_languages_the_image_has_no_pack_for(tmp_path):
    config = tmp_path / "lab.toml"
    image = Engine({languages.IMAGE_LABEL: "ja-JP,ko-KR"})
    require_languages(image, "icslab-participant:latest", ["ko-KR", "ja-JP"], config)
    require_languages(image, "icslab-participant:latest", [], config)
    with pytest.raises(InputError) as caught:
        require_languages(image, "icslab-participant:latest", ["ja-JP", "vi-VN"], config)
    (problem,) = caught.value.problems
    assert problem == (
        "workshop.languages lists vi-VN, but docker.image 'icslab-participant:latest' has no "
        "language pack for it (it holds: ja-JP,ko-KR): build it again from these settings, "
        f"`icslab images build --config {config}`"
    )
    with pytest.raises(InputError, match=r"lists ja-JP, but .* \(it holds: none\)"):
        require_languages(Engine({}), "old:image", ["ja-JP"], config)


# --- local mode ---------------------------------------------------------------------------


@pytest.fixture
def packs(tmp_path, monkeypatch):
    """Local mode's pack folders, empty, in tmp_path."""
    folder = tmp_path / "language-packs"
    monkeypatch.setattr(languages, "LANGUAGE_PACKS", folder)
    return folder


def put_pack(packs, language, version=languages.PACK_VERSION):
    """What `pip install --target` leaves of a pack: its package and its metadata."""
    name = f"jupyterlab_language_pack_{languages.locale(language)}"
    info = packs / language / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def test_a_pack_counts_as_installed_only_at_its_pinned_version(packs):
    put_pack(packs, "ja-JP")
    put_pack(packs, "ko-KR", version="4.0.post0")
    assert languages.missing(["ja-JP", "ko-KR", "vi-VN"]) == ["ko-KR", "vi-VN"]


def environment(lab) -> dict:
    c = Config()
    configure(c, lab)
    return c.DockerSpawner.environment if lab.spawner == "docker" else c.Spawner.environment


def test_servers_find_only_their_labs_packs(make_lab, packs, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/src/icslab")
    listed = {"title": "x", "languages": ["ja-JP", "ko-KR"]}
    local = environment(make_lab(workshop=listed))
    assert local["PYTHONPATH"] == f"{packs}/ja-JP:{packs}/ko-KR:/src/icslab"
    in_image = environment(make_lab("docker", workshop=listed))
    assert in_image["PYTHONPATH"] == (
        "/opt/venv/share/icslab/language-packs/ja-JP:/opt/venv/share/icslab/language-packs/ko-KR"
    )
    for english_only in (make_lab(), make_lab("docker")):
        assert "PYTHONPATH" not in environment(english_only)


def test_up_in_local_mode_refuses_a_language_whose_pack_is_not_installed(tmp_path, packs):
    write_roster(tmp_path / "roster.csv", [("p01", "water", "participant")])
    config = write_settings(tmp_path / "lab.toml", workshop={"languages": ["ja-JP", "vi-VN"]})
    put_pack(packs, "ja-JP")
    data_dir = tmp_path / "data"

    result = CliRunner().invoke(app, ["up", "--config", str(config), "--data-dir", str(data_dir)])

    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "workshop.languages lists vi-VN, but local mode has no language pack for it" in said
    assert f"icslab languages install --config {config}" in said
    assert not data_dir.exists()


def test_install_for_an_english_only_lab_installs_nothing(tmp_path, packs):
    config = settings_file(tmp_path, '[workshop]\ntitle = "x"\n')
    result = CliRunner().invoke(app, ["languages", "install", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "languages for local mode: English only" in result.output
    assert not packs.exists()


def test_list_shows_what_a_lab_lists_and_which_packs_local_mode_has(tmp_path, packs):
    config = settings_file(tmp_path, '[workshop]\ntitle = "x"\nlanguages = ["ja-JP", "vi-VN"]\n')
    put_pack(packs, "ja-JP")
    result = CliRunner().invoke(app, ["languages", "list", "--config", str(config)])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()[1:]}
    assert len(rows) == len(languages.LANGUAGES)
    assert rows["ja-JP"][-2:] == ["yes", "installed"]
    assert rows["vi-VN"][-1] == "yes"
    assert rows["ko-KR"] == ["ko-KR", "Korean", "(South", "Korea)"]  # not listed, no pack
