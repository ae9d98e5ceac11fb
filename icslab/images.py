"""The participant image, built without a container registry (`icslab images ...`).

Four steps, each skipped when its inputs have not changed:

  datasets    `icslab datasets build --missing`: the image bakes them in
  base        debootstrap a Debian rootfs and `docker import` it (nothing to pull from)
  wheelhouse  `pip download` every wheel on the host, for the image's Python 3.11.2
              (with every JupyterLab language pack: a few MB, so the settings' list
              can change without downloading again)
  image       `docker build` for the lab's settings (their docker.image, with the
              language packs `[workshop] languages` lists), labelled with a hash of
              everything that went in and with those languages

`image_is_current()` tells `icslab up` whether the image needs a build.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from icslab import languages as language_packs
from icslab.paths import (
    BATADAL_CACHE,
    CATALOG,
    DATASETS_BUILD,
    IMAGES,
    PYPROJECT,
    REPO,
    WORKSHOPS,
)

PACKAGES_FILE = IMAGES / "base" / "packages.txt"
DOCKERFILE = IMAGES / "participant" / "Dockerfile"
REQUIREMENTS = IMAGES / "participant" / "requirements.txt"
WHEELHOUSE = IMAGES / ".wheelhouse"
# Apart from the third-party wheels, so the Dockerfile installs those in a layer of their own.
ICSLAB_WHEELS = WHEELHOUSE / "icslab"
ICSLAB_REQUIRES = WHEELHOUSE / "icslab-requires.txt"
WHEELHOUSE_STAMP = WHEELHOUSE / ".stamp"
DOCKERIGNORE = REPO / ".dockerignore"
# `icslab datasets fetch batadal` puts the public BATADAL files here; the image
# carries them at $ICSLAB_DATA/batadal when an instructor fetched them beforehand.

IMAGE = "icslab-participant:latest"
BASE_REPOSITORY = "icslab-base"
SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
INPUTS_LABEL = "org.icslab.inputs"
# Wheels are resolved for the image's interpreter, Debian bookworm's python3,
# not the host's: some current releases need Python >= 3.11.5.
IMAGE_PYTHON = "3.11.2"
# bookworm's glibc is 2.36, so any manylinux wheel up to 2_36 runs there.
# pip does not widen a manylinux_2_X platform to older ones by itself.
ARCH = platform.machine()
PLATFORMS = (f"manylinux2014_{ARCH}", *(f"manylinux_2_{n}_{ARCH}" for n in range(17, 37)))
# Left out of the base: apt's lists and caches, manual pages, translations (~55 MB).
# /usr/share/doc stays: it holds the packages' copyright notices.
TRIMMED = ("var/lib/apt/lists", "var/cache/apt", "usr/share/man", "usr/share/info",
           "usr/share/locale")  # fmt: skip
IGNORED_NAMES = {"__pycache__", ".ipynb_checkpoints"}


class ImageBuildError(Exception):
    """A build step failed; the message says what to do next."""


# --- pure parts: what to build and whether to ----------------------------------------------


def read_package_list(text: str) -> list[str]:
    """Package names from packages.txt: one a line, `#` starts a comment."""
    return [name for line in text.splitlines() if (name := line.split("#", 1)[0].strip())]


def base_image_tag(packages: Iterable[str], repository: str = BASE_REPOSITORY) -> str:
    """icslab-base:bookworm-<hash>: a new package list names a new base; order does not.
    (`repository`: the swarm tests' node image is made the same way.)"""
    recipe = json.dumps([SUITE, "minbase", sorted(set(packages)), TRIMMED])
    return f"{repository}:{SUITE}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def debootstrap_command(packages: list[str], rootfs: Path, mirror: str) -> list[str]:
    return [
        "debootstrap", "--variant=minbase", f"--include={','.join(packages)}",
        SUITE, str(rootfs), mirror,
    ]  # fmt: skip


def project_requirements(pyproject_text: str) -> tuple[list[str], list[str]]:
    """icslab's own dependencies, and its build backend's (to build its wheel offline)."""
    pyproject = tomllib.loads(pyproject_text)
    return pyproject["project"]["dependencies"], pyproject["build-system"]["requires"]


def wheelhouse_key(
    requirements_text: str, icslab_requires: list[str], build_requires: list[str]
) -> str:
    """Everything the wheelhouse's contents depend on: when unchanged, no download."""
    recipe = [requirements_text, icslab_requires, build_requires, IMAGE_PYTHON, PLATFORMS,
              every_language_pack()]  # fmt: skip
    return hashlib.sha256(json.dumps(recipe).encode()).hexdigest()


def every_language_pack() -> list[str]:
    """Pinned requirements of every language pack a lab can list."""
    return [language_packs.requirement(language) for language in language_packs.LANGUAGES]


def language_build_args(languages: list[str]) -> list[str]:
    """docker build's arguments for the packs the image installs, each as
    language=requirement, and the label naming them (empty: English only)."""
    packs = " ".join(f"{lang}={language_packs.requirement(lang)}" for lang in languages)
    return ["--build-arg", f"ICSLAB_LANGUAGE_PACKS={packs}",
            "--build-arg", f"ICSLAB_LANGUAGES={','.join(languages)}"]  # fmt: skip


def download_command(python: str, requirement_files: list[Path], dest: Path) -> list[str]:
    """pip download of binary wheels for the image's interpreter (on the host, once)."""
    command = [python, "-m", "pip", "download", "--only-binary=:all:",
               "--python-version", IMAGE_PYTHON, "--implementation", "cp"]  # fmt: skip
    for name in PLATFORMS:
        command += ["--platform", name]
    for path in requirement_files:
        command += ["-r", str(path)]
    return [*command, "--dest", str(dest)]


PIP_FAILURE = re.compile(
    r"(?:No matching distribution found for|Could not find a version that satisfies "
    r"the requirement|Cannot install|conflict is caused by:?)\s*(.*)"
)


def failed_requirement(pip_output: str) -> str | None:
    """The requirement pip could not get, from its output: what the error should name."""
    found = [m.group(1).strip() for m in PIP_FAILURE.finditer(pip_output)]
    return next((f for f in reversed(found) if f), None)


def tree_digest(root: Path, skip: tuple[str, ...] = ()) -> str:
    """sha256 over every file's relative path and bytes under root (caches and the
    top-level folders in `skip` left out)."""
    digest = hashlib.sha256()
    if not root.exists():
        return digest.hexdigest()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in skip:
            continue
        if path.is_file() and not IGNORED_NAMES.intersection(relative.parts):
            digest.update(f"{relative.as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def dataset_checksums(catalog_text: str, build: Path | None = None) -> dict[str, dict[str, str]]:
    """The sha256 of each published file: the catalog's, or for a set drawn per lab
    (hidden labels, no checksums in the catalog) what its build in `build` recorded
    with the answers, so that a re-drawn capstone makes the image stale. Hidden labels
    are not published, so never part of it."""
    datasets = tomllib.loads(catalog_text).get("datasets", {})
    return {
        name: spec.get("sha256") or _recorded_checksums(build, name)
        for name, spec in sorted(datasets.items())
    }


def _recorded_checksums(build: Path | None, name: str) -> dict[str, str]:
    from icslab.sim.build import RECORD, answers_folder

    try:
        recorded = json.loads((answers_folder(build or DATASETS_BUILD, name) / RECORD).read_text())
    except (OSError, ValueError):
        return {}  # not built yet
    return {file: sha for file, sha in recorded.get("sha256", {}).items() if file != "labels.csv"}


def inputs_hash(parts: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def needs_build(label: str | None, current: str, *, force: bool = False) -> bool:
    """Build when forced, when there is no image, or when its inputs have changed."""
    return force or label != current


DOCKER_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


def parse_step(line: str) -> tuple[int, int, str] | None:
    """(5, 14, 'RUN ...') from the legacy builder's 'Step 5/14 : RUN ...' lines."""
    match = DOCKER_STEP.match(line)
    return (int(match[1]), int(match[2]), match[3]) if match else None


# --- Docker ----------------------------------------------------------------------------------


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def require_engine() -> None:
    if not shutil.which("docker"):
        raise ImageBuildError("no docker command: install it (apt-get install -y docker.io)")
    try:
        answer = docker("version", "--format", "{{.Server.Version}}", timeout=20)
    except subprocess.TimeoutExpired:
        answer = None
    if answer is None or answer.returncode != 0:
        raise ImageBuildError(
            "the Docker engine is not answering: start dockerd "
            "(systemctl start docker, or `dockerd >/var/log/dockerd.log 2>&1 &` as root)"
        )


def image_info(image: str) -> dict | None:
    """`docker image inspect` of one image, or None when it is not there."""
    answer = docker("image", "inspect", image)
    return json.loads(answer.stdout)[0] if answer.returncode == 0 else None


def image_label(image: str, name: str = INPUTS_LABEL) -> str | None:
    info = image_info(image)
    return (((info or {}).get("Config") or {}).get("Labels") or {}).get(name)


def current_inputs(
    base_image: str | None = None, languages: list[str] | None = None
) -> dict[str, object]:
    """What the image is made of; its hash is the image's label."""
    icslab_requires, build_requires = project_requirements(PYPROJECT.read_text())
    return {
        "dockerfile": hashlib.sha256(DOCKERFILE.read_bytes()).hexdigest(),
        "dockerignore": hashlib.sha256(DOCKERIGNORE.read_bytes()).hexdigest(),
        "wheelhouse": wheelhouse_key(REQUIREMENTS.read_text(), icslab_requires, build_requires),
        "icslab": tree_digest(REPO / "icslab"),
        "datasets": dataset_checksums(CATALOG.read_text()),
        # The sources: the participant versions are built from them (workshops/build is not).
        "workshops": tree_digest(WORKSHOPS, skip=("build",)),
        "batadal": tree_digest(BATADAL_CACHE),
        "base": base_identity(base_image),
        "languages": languages or [],
    }


def base_identity(base_image: str | None) -> str:
    """Our base's tag already names its contents (re-importing it need not rebuild the image);
    an upstream tag can move, so its local image id counts."""
    if base_image is None:
        return base_image_tag(read_package_list(PACKAGES_FILE.read_text()))
    info = image_info(base_image)
    return info["Id"] if info else base_image


def image_is_current(
    image: str = IMAGE, base_image: str | None = None, languages: list[str] | None = None
) -> bool:
    """True when the image exists and was built from today's inputs (no build needed)."""
    try:
        label = image_label(image)
    except (OSError, subprocess.SubprocessError):
        return False
    current = inputs_hash(current_inputs(base_image, languages))
    return label is not None and not needs_build(label, current)


# --- running the steps -----------------------------------------------------------------------

OnLine = Callable[[str], None]


def stream(command: list[str], on_line: OnLine, *, stdin=None, env=None) -> tuple[int, str]:
    """Run a command, handing each output line to on_line; its exit code and last lines."""
    tail: deque[str] = deque(maxlen=40)
    with subprocess.Popen(
        command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, errors="replace", env=env,
    ) as process:  # fmt: skip
        assert process.stdout is not None  # stdout=PIPE
        for line in process.stdout:
            line = line.rstrip()
            tail.append(line)
            on_line(line)
    return process.returncode, "\n".join(tail)


def ensure_notebooks() -> str:
    """The participant version of every workshop (the image never gets the solutions),
    and the BATADAL folder the Dockerfile copies (empty unless an instructor fetched it)."""
    from icslab.notebooks.build import build_workshop
    from icslab.notebooks.manifest import available, load_workshop

    names = available()
    for name in names:
        build_workshop(load_workshop(name))
    BATADAL_CACHE.mkdir(parents=True, exist_ok=True)
    batadal = "with BATADAL" if any(BATADAL_CACHE.glob("*.csv")) else "without BATADAL"
    return f"participant versions of {', '.join(names) or 'no workshop'}; {batadal}"


def ensure_base(mirror: str, on_line: OnLine) -> str:
    tag = base_image_tag(packages := read_package_list(PACKAGES_FILE.read_text()))
    if image_info(tag):
        return f"{tag} (exists)"
    if not shutil.which("debootstrap"):
        raise ImageBuildError(
            "debootstrap is missing: apt-get install -y debootstrap "
            "(or start from an upstream image: --base-image python:3.11-slim-bookworm)"
        )
    if os.geteuid() != 0:
        raise ImageBuildError("debootstrap needs root: run `icslab images build` as root")
    debootstrap_import(tag, packages, mirror, on_line)
    return f"{tag} (new)"


def debootstrap_import(tag: str, packages: list[str], mirror: str, on_line: OnLine) -> None:
    """A minbase Debian rootfs with `packages`, trimmed, imported as image `tag` (the
    participant base and the swarm tests' node image are both made this way)."""
    rootfs = Path(tempfile.mkdtemp(prefix=f"{tag.partition(':')[0]}-"))
    try:
        code, tail = stream(debootstrap_command(packages, rootfs, mirror), on_line)
        if code:
            raise ImageBuildError(f"debootstrap failed (mirror {mirror}):\n{tail}")
        trim(rootfs)
        tar = ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."]
        with subprocess.Popen(tar, stdout=subprocess.PIPE) as archive:
            code, tail = stream(["docker", "import", "-", tag], on_line, stdin=archive.stdout)
        if code or archive.returncode:
            raise ImageBuildError(f"docker import of {tag} failed:\n{tail}")
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def trim(rootfs: Path) -> None:
    """Empty the TRIMMED folders, keeping the folders (apt expects lists/partial and the like)."""
    for folder in TRIMMED:
        for path in (rootfs / folder).glob("*"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    for folder in ("var/lib/apt/lists/partial", "var/cache/apt/archives/partial"):
        (rootfs / folder).mkdir(parents=True, exist_ok=True)


def ensure_wheelhouse(on_line: OnLine) -> str:
    """Download the wheels unless the stamp says nothing changed; always rebuild icslab's."""
    icslab_requires, build_requires = project_requirements(PYPROJECT.read_text())
    key = wheelhouse_key(REQUIREMENTS.read_text(), icslab_requires, build_requires)
    stamp = WHEELHOUSE_STAMP.read_text().strip() if WHEELHOUSE_STAMP.exists() else ""
    result = "up to date"
    if stamp != key or not ICSLAB_REQUIRES.exists():
        download_wheels(icslab_requires, build_requires, on_line)
        WHEELHOUSE_STAMP.write_text(key + "\n")
        result = "downloaded"
    build_icslab_wheel(on_line)
    count = len(list(WHEELHOUSE.glob("*.whl")))
    return f"{result}, {count} wheels + icslab"


def download_wheels(icslab_requires: list[str], build_requires: list[str], on_line: OnLine) -> None:
    """Into a fresh folder, swapped in only when pip succeeded: no half-filled wheelhouse.

    The build backend's wheels are downloaded too (to build icslab's wheel offline),
    but only icslab's dependencies go into the image."""
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=".download-", dir=WHEELHOUSE))
    try:
        extra, backend = partial / "icslab-requires.txt", partial / "build-requires.txt"
        extra.write_text("".join(f"{line}\n" for line in icslab_requires))
        backend.write_text("".join(f"{line}\n" for line in build_requires))
        packs = partial / "language-packs.txt"
        packs.write_text("".join(f"{line}\n" for line in every_language_pack()))
        files = [REQUIREMENTS, extra, backend, packs]
        command = download_command(sys.executable, files, partial)
        code, tail = stream(command, on_line)
        if code:
            missing = failed_requirement(tail)
            what = f"could not download {missing}" if missing else "pip download failed"
            raise ImageBuildError(
                f"{what} for Python {IMAGE_PYTHON} ({ARCH}): choose versions with a wheel for it "
                f"in {REQUIREMENTS} (or in pyproject.toml, for icslab's own dependencies), "
                f"or check that the package index answers\n{tail}"
            )
        for old in WHEELHOUSE.glob("*.whl"):
            old.unlink()
        for wheel in partial.glob("*.whl"):
            wheel.rename(WHEELHOUSE / wheel.name)
        # The Dockerfile installs icslab's dependencies in the same layer as requirements.txt.
        extra.replace(ICSLAB_REQUIRES)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def build_icslab_wheel(on_line: OnLine) -> None:
    # Offline: the build backend (hatchling) comes from the wheelhouse too.
    shutil.rmtree(ICSLAB_WHEELS, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "--find-links",
               str(WHEELHOUSE), "--wheel-dir", str(ICSLAB_WHEELS), str(REPO)]  # fmt: skip
    code, tail = stream(command, on_line)
    if code:
        raise ImageBuildError(f"building the icslab wheel failed:\n{tail}")


def docker_build(image: str, base: str, inputs: str, languages: list[str], on_line: OnLine) -> None:
    command = ["docker", "build", "--file", str(DOCKERFILE), "--tag", image,
               "--build-arg", f"BASE_IMAGE={base}", "--build-arg", f"ICSLAB_INPUTS={inputs}",
               *language_build_args(languages), str(REPO)]  # fmt: skip
    # The legacy builder: no buildx plugin here, and its "Step N/M" lines show progress.
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    code, tail = stream(command, on_line, env=env)
    if code:
        raise ImageBuildError(f"docker build failed:\n{tail}")


# --- the whole build -------------------------------------------------------------------------


def build_participant_image(
    *, force: bool = False, base_image: str | None = None, mirror: str = DEBIAN_MIRROR,
    image: str = IMAGE, languages: list[str] | None = None, out: Console | None = None,
    datasets: Callable[[], object],
) -> bool:  # fmt: skip
    """Build the image if it is missing or stale (or forced), reporting each step to `out`;
    True when it was built. `datasets()` first builds the datasets the image bakes in
    that are missing or do not match the catalog (with its own progress display).
    `languages`: the JupyterLab language packs it holds (validated settings)."""
    languages = languages or []
    out = out or Console()
    if not DOCKERFILE.exists():
        raise ImageBuildError(f"{DOCKERFILE} not found: run from a clone of the icslab repository")
    require_engine()
    steps = Table("step", "result", "time", box=None)

    def run(name: str, action: Callable[[OnLine], str]) -> None:
        started = time.monotonic()
        with out.status(f"[bold]{name}[/]") as status:

            def on_line(line: str) -> None:
                if step := parse_step(line):
                    out.print(f"  {name} {step[0]}/{step[1]}: {step[2]}", markup=False)
                elif line.strip():
                    status.update(f"[bold]{name}[/] {line.strip()[:100]}")
                    if not out.is_terminal:  # a log file gets every line instead of a spinner
                        out.print(f"  {line}", markup=False, highlight=False)

            result = action(on_line)
        steps.add_row(name, result, f"{time.monotonic() - started:.0f} s")
        out.print(f"[green]✓[/] {name}: {result}")

    started = time.monotonic()
    # Not under a spinner: the datasets build shows its own progress bars.
    datasets()
    steps.add_row("datasets", "match the catalog", f"{time.monotonic() - started:.0f} s")
    started = time.monotonic()
    steps.add_row("notebooks", ensure_notebooks(), f"{time.monotonic() - started:.0f} s")
    inputs = inputs_hash(current_inputs(base_image, languages))
    if not needs_build(image_label(image), inputs, force=force):
        out.print(f"{image} is up to date (inputs {inputs[:12]})")
        return False
    if base_image is None:
        run("base", lambda on_line: ensure_base(mirror, on_line))
    base = base_image or base_image_tag(read_package_list(PACKAGES_FILE.read_text()))
    run("wheelhouse", ensure_wheelhouse)

    def image_step(on_line: OnLine) -> str:
        replaced = (image_info(image) or {}).get("Id")
        docker_build(image, base, inputs, languages, on_line)
        built = image_info(image)
        if built is None:
            raise ImageBuildError(f"docker build reported success but {image} is missing")
        if replaced and replaced != built["Id"]:
            # Our previous build, now untagged: its venv layer alone is ~1 GB. Docker
            # refuses (and we let it) while a participant's container still uses it.
            docker("image", "rm", replaced)
        held = f"languages: English, {', '.join(languages)}" if languages else "English only"
        return f"{image}, {built['Size'] / 1e6:.0f} MB, {held}"

    run("image", image_step)
    out.print(steps)
    return True
