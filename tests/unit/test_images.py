"""The participant image's build decisions, without Docker: what to build, and whether to."""

import re
import tomllib
from pathlib import Path

from icslab import images
from icslab.formats import CSV_FILES, FILES

REPO = Path(__file__).parents[2]


def pins(text: str) -> dict[str, str]:
    """name -> version of each `name[extras]==version` line."""
    found = {}
    for line in text.splitlines():
        if match := re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;#]+)", line.strip()):
            found[match[1].lower()] = match[3]
    return found


def test_the_image_runs_the_hubs_jupyterhub_version():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    hub = pins("\n".join(pyproject["project"]["dependencies"]))
    image = pins(images.REQUIREMENTS.read_text())
    assert image["jupyterhub"] == hub["jupyterhub"]
    # The server start-up cost of a newer jsonschema is why both stay on this one.
    assert image["jsonschema"] == hub["jsonschema"]


def test_every_image_requirement_is_pinned():
    lines = [line.split("#")[0].strip() for line in images.REQUIREMENTS.read_text().splitlines()]
    requirements = [line for line in lines if line]
    assert requirements
    assert len(pins("\n".join(requirements))) == len(requirements)


def test_base_tag_names_the_package_list_not_its_order_or_comments():
    listed = images.read_package_list("python3  # the interpreter\n\n# a comment\ntini\ngit\n")
    assert listed == ["python3", "tini", "git"]
    tag = images.base_image_tag(listed)
    assert re.fullmatch(r"icslab-base:bookworm-[0-9a-f]{12}", tag)
    assert images.base_image_tag(["git", "tini", "python3"]) == tag
    assert images.base_image_tag([*listed, "curl"]) != tag


def test_the_base_has_what_the_dockerfile_runs():
    packages = images.read_package_list(images.PACKAGES_FILE.read_text())
    assert {"python3", "python3-venv", "tini", "git", "ca-certificates"} <= set(packages)
    command = images.debootstrap_command(packages, Path("/tmp/rootfs"), images.DEBIAN_MIRROR)
    assert command[:2] == ["debootstrap", "--variant=minbase"]
    assert command[2] == "--include=" + ",".join(packages)
    assert command[3:] == ["bookworm", "/tmp/rootfs", "http://deb.debian.org/debian"]


def test_wheels_are_resolved_for_the_images_python_not_the_hosts():
    command = images.download_command(
        "/venv/bin/python", [Path("req.txt"), Path("extra.txt")], Path("/wh")
    )
    assert command[:4] == ["/venv/bin/python", "-m", "pip", "download"]
    assert "--only-binary=:all:" in command
    assert command[command.index("--python-version") + 1] == "3.11.2"
    assert command[command.index("--implementation") + 1] == "cp"
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    arch = images.ARCH
    # bookworm's glibc 2.36: every manylinux level up to it, and no newer.
    assert {f"manylinux2014_{arch}", f"manylinux_2_17_{arch}", f"manylinux_2_28_{arch}"} <= set(
        platforms
    )
    assert f"manylinux_2_36_{arch}" in platforms
    assert f"manylinux_2_37_{arch}" not in platforms
    assert command[-4:] == ["-r", "extra.txt", "--dest", "/wh"]
    assert command[command.index("-r") + 1] == "req.txt"


def test_the_wheelhouse_is_downloaded_again_only_when_its_requirements_change():
    key = images.wheelhouse_key("pandas==3.1.1\n", ["typer>=0.12"], ["hatchling"])
    assert images.wheelhouse_key("pandas==3.1.1\n", ["typer>=0.12"], ["hatchling"]) == key
    assert images.wheelhouse_key("pandas==3.1.0\n", ["typer>=0.12"], ["hatchling"]) != key
    assert images.wheelhouse_key("pandas==3.1.1\n", ["typer>=0.13"], ["hatchling"]) != key


def test_icslab_and_its_build_backend_come_from_pyproject():
    deps, build = images.project_requirements((REPO / "pyproject.toml").read_text())
    assert "jupyterhub==6.1.1" in deps
    assert any(requirement.startswith("hatchling") for requirement in build)


def test_a_download_failure_names_the_package():
    output = (
        "Collecting pandas==3.1.1\n"
        "ERROR: Could not find a version that satisfies the requirement numpy==2.5.5 "
        "(from versions: 2.4.5, 2.4.6)\n"
        "ERROR: No matching distribution found for numpy==2.5.5\n"
    )
    assert images.failed_requirement(output) == "numpy==2.5.5"
    assert images.failed_requirement("ERROR: network unreachable\n") is None


def test_build_only_when_missing_stale_or_forced():
    assert images.needs_build(None, "abc")
    assert images.needs_build("old", "abc")
    assert not images.needs_build("abc", "abc")
    assert images.needs_build("abc", "abc", force=True)


def test_inputs_hash_changes_with_any_input():
    parts = {"dockerfile": "d1", "datasets": {"sample": {"scada.parquet": "aa"}}, "base": "b"}
    same = {"base": "b", "datasets": {"sample": {"scada.parquet": "aa"}}, "dockerfile": "d1"}
    assert images.inputs_hash(parts) == images.inputs_hash(same)
    changed = {**parts, "datasets": {"sample": {"scada.parquet": "bb"}}}
    assert images.inputs_hash(changed) != images.inputs_hash(parts)


def test_tree_digest_follows_content_and_names_but_not_caches(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    before = images.tree_digest(tmp_path)
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert images.tree_digest(tmp_path) == before
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    assert images.tree_digest(tmp_path) != before
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "a.py").rename(tmp_path / "pkg" / "b.py")
    assert images.tree_digest(tmp_path) != before
    assert images.tree_digest(tmp_path / "missing") == images.tree_digest(tmp_path / "gone")


def test_dataset_checksums_come_from_the_catalog():
    catalog = """
        [datasets.sample]
        seed = 7
        [datasets.sample.sha256]
        "scada.parquet" = "aa"
        [datasets.train]
        seed = 8
    """
    assert images.dataset_checksums(catalog) == {
        "sample": {"scada.parquet": "aa"},
        "train": {},
    }


def test_docker_build_steps_are_parsed():
    assert images.parse_step("Step 5/14 : RUN useradd jovyan") == (5, 14, "RUN useradd jovyan")
    assert images.parse_step(" ---> Using cache") is None


def test_the_build_context_holds_the_datasets_but_not_their_csv_copies():
    lines = images.DOCKERIGNORE.read_text().splitlines()
    assert lines.index("*") < lines.index("!datasets/build/")  # everything else stays out
    excluded_copies = {line.removeprefix("datasets/build/*/") for line in lines}
    assert set(CSV_FILES) <= excluded_copies
    assert not set(FILES) & excluded_copies


def test_the_final_image_runs_as_uid_1000_under_tini():
    dockerfile = images.DOCKERFILE.read_text()
    final = dockerfile.rsplit("\nFROM ", 1)[1]
    assert "wheelhouse" not in final  # it stays in the venv stage
    assert "USER 1000:100" in final
    assert 'ENTRYPOINT ["tini", "-g", "--"]' in final
    assert f"LABEL {images.INPUTS_LABEL}=" in final


def test_the_base_loses_manuals_and_apt_lists_but_keeps_copyrights_and_apt_folders(tmp_path):
    files = ["usr/share/man/man1/git.1.gz", "usr/share/locale/de/LC_MESSAGES/apt.mo",
             "var/lib/apt/lists/bookworm_Packages", "usr/share/doc/git/copyright"]  # fmt: skip
    for path in files:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    images.trim(tmp_path)
    assert not list((tmp_path / "usr/share/man").iterdir())
    assert not list((tmp_path / "usr/share/locale").iterdir())
    assert [p.name for p in (tmp_path / "var/lib/apt/lists").iterdir()] == ["partial"]
    assert (tmp_path / "var/cache/apt/archives/partial").is_dir()
    assert (tmp_path / "usr/share/doc/git/copyright").exists()


def test_image_is_current_compares_the_label_with_todays_inputs(monkeypatch):
    current = images.inputs_hash(images.current_inputs())
    monkeypatch.setattr(images, "image_label", lambda image: current)
    assert images.image_is_current()
    monkeypatch.setattr(images, "image_label", lambda image: "an-older-build")
    assert not images.image_is_current()
    monkeypatch.setattr(images, "image_label", lambda image: None)  # no such image
    assert not images.image_is_current()

    def no_docker(image):
        raise FileNotFoundError("docker")

    monkeypatch.setattr(images, "image_label", no_docker)
    assert not images.image_is_current()


def test_a_set_drawn_per_lab_counts_with_what_its_build_recorded(tmp_path):
    catalog = """
        [datasets.capstone]
        hidden_labels = true
    """
    assert images.dataset_checksums(catalog, tmp_path) == {"capstone": {}}  # not built yet
    record = tmp_path / ".answers" / "capstone" / "checksums.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"sha256": {"scada.parquet": "bb", "labels.csv": "secret"}}')
    # A re-drawn capstone makes the image stale; its hidden labels are not in the image.
    assert images.dataset_checksums(catalog, tmp_path) == {"capstone": {"scada.parquet": "bb"}}
