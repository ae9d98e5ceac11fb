"""JupyterLab's language packs a lab offers (`[workshop] languages`): which exist, pinned,
and where local mode keeps them.

Each participant picks a language in JupyterLab's Settings > Language; English is
built in and stays the default. A pack only translates JupyterLab itself: the
curriculum stays English.

A pack is not installed in the servers' venv, or every lab sharing that venv (local
mode) or image would offer it: each goes into a folder of its own, and a lab's
servers get only its listed folders on their PYTHONPATH, where JupyterLab finds
packs by their entry points. Local mode keeps them under LANGUAGE_PACKS (`make
install`), the participant image under IMAGE_LANGUAGE_PACKS (its build installs
the packs its lab's settings list, and labels it with their languages).
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from icslab.paths import LANGUAGE_PACKS

# Every pack on PyPI (jupyterlab-language-pack-xx-yy), one release for all, checked to
# load in JupyterLab 4.6. The form here is the setting's: ja-JP; JupyterLab's is ja_JP.
PACK_VERSION = "4.5.post3"
# The participant image's label listing the languages whose packs it holds, and where
# (LANGUAGE_PACKS of its venv, /opt/venv: images/participant/Dockerfile).
IMAGE_LABEL = "org.icslab.languages"
IMAGE_LANGUAGE_PACKS = "/opt/venv/share/icslab/language-packs"
LANGUAGES = {
    "ar-SA": "Arabic (Saudi Arabia)",
    "ca-ES": "Catalan (Spain)",
    "cs-CZ": "Czech (Czechia)",
    "da-DK": "Danish (Denmark)",
    "de-DE": "German (Germany)",
    "el-GR": "Greek (Greece)",
    "es-ES": "Spanish (Spain)",
    "et-EE": "Estonian (Estonia)",
    "fi-FI": "Finnish (Finland)",
    "fr-FR": "French (France)",
    "he-IL": "Hebrew (Israel)",
    "hu-HU": "Hungarian (Hungary)",
    "hy-AM": "Armenian (Armenia)",
    "id-ID": "Indonesian (Indonesia)",
    "it-IT": "Italian (Italy)",
    "ja-JP": "Japanese (Japan)",
    "ko-KR": "Korean (South Korea)",
    "lt-LT": "Lithuanian (Lithuania)",
    "nl-NL": "Dutch (Netherlands)",
    "no-NO": "Norwegian Bokmål (Norway)",
    "pl-PL": "Polish (Poland)",
    "pt-BR": "Portuguese (Brazil)",
    "ro-RO": "Romanian (Romania)",
    "ru-RU": "Russian (Russia)",
    "tr-TR": "Turkish (Turkey)",
    "uk-UA": "Ukrainian (Ukraine)",
    "vi-VN": "Vietnamese (Vietnam)",
    "zh-CN": "Chinese (Simplified, China)",
    "zh-TW": "Chinese (Traditional, Taiwan)",
}


def unknown(values: list[str]) -> str | None:
    """What is wrong with a list of languages, or None when a pack exists for each: the
    form, and for a near miss (ja_jp, ja-jp, ja) the language meant."""
    bad = [value for value in values if value not in LANGUAGES]
    if not bad:
        return None
    named = ", ".join(_with_hint(value) for value in bad)
    return (
        f"no JupyterLab language pack for {named}: write each as language-REGION, e.g. "
        f"'ja-JP', one of {', '.join(LANGUAGES)}"
    )


def _with_hint(value: str) -> str:
    normal = value.replace("_", "-").lower()
    meant = [known for known in LANGUAGES if known.lower() == normal] or [
        known for known in LANGUAGES if known.lower().startswith(normal[:2] + "-")
    ]
    return f"{value!r} (did you mean {' or '.join(map(repr, meant))}?)" if meant else repr(value)


def not_in_image(languages: list[str], label: str | None) -> list[str]:
    """The languages an image labelled `label` (its IMAGE_LABEL) has no pack for."""
    held = set((label or "").split(","))
    return [language for language in languages if language not in held]


def requirement(language: str) -> str:
    """The pinned pip requirement of a language's pack."""
    return f"jupyterlab-language-pack-{language.lower()}=={PACK_VERSION}"


def locale(language: str) -> str:
    """JupyterLab's name for it: ja-JP -> ja_JP."""
    return language.replace("-", "_")


# --- local mode: one folder per pack in this venv ------------------------------------------


def pack_folder(language: str) -> Path:
    return LANGUAGE_PACKS / language


def installed(language: str) -> bool:
    """Whether the language's pinned pack is in its folder (pip leaves nothing half-done
    there: see install)."""
    found = importlib.metadata.distributions(path=[str(pack_folder(language))])
    return any(dist.version == PACK_VERSION for dist in found)


def missing(languages: list[str]) -> list[str]:
    return [language for language in languages if not installed(language)]


def install(language: str) -> None:
    """pip-install the pack into a fresh folder, swapped in once pip succeeded; raise
    RuntimeError with pip's output otherwise."""
    LANGUAGE_PACKS.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{language}-", dir=LANGUAGE_PACKS))
    try:
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                   "--disable-pip-version-check", "--target", str(partial),
                   requirement(language)]  # fmt: skip
        answer = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if answer.returncode:
            raise RuntimeError(f"pip install {requirement(language)} failed:\n{answer.stderr}")
        shutil.rmtree(pack_folder(language), ignore_errors=True)
        partial.rename(pack_folder(language))
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def python_path(languages: list[str], root: Path | str | None = None) -> list[str]:
    """The folders a server puts on its PYTHONPATH for these languages: local mode's, or
    under `root` (the image's)."""
    if root is None:
        return [str(pack_folder(language)) for language in languages]
    return [f"{root}/{language}" for language in languages]
