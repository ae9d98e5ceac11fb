"""`icslab tls ...`: the lab's HTTPS certificates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icslab.cli.options import DEFAULT_CONFIG, ConfigOption, DataDirOption, group, lab_paths
from icslab.cli.output import console
from icslab.errors import InputError

app = group("The lab's HTTPS certificates.")


@app.command("ca")
def ca(
    out: Annotated[Path, typer.Option("--out", help="Where to write the CA certificate (PEM).")],
    config: ConfigOption = DEFAULT_CONFIG,
    data_dir: DataDirOption = None,
) -> None:
    """Write the lab CA's certificate for participants to install (lab-ca mode); print
    its SHA-256 fingerprint to show on the projector. Makes the CA if there is none."""
    import shutil

    from icslab.hub.front.certs import describe, ensure_lab_ca
    from icslab.settings import load_settings

    settings = load_settings(config)
    if settings.tls.mode != "lab-ca":
        raise InputError(
            f"{config}: tls.mode is {settings.tls.mode!r}: participants install a lab CA "
            "only with tls.mode = 'lab-ca'"
        )
    ca = ensure_lab_ca(lab_paths(data_dir).lab_ca, settings.workshop.title)
    shutil.copyfile(ca, out)
    console.print(f"{out}: lab CA, SHA-256 {describe(ca).sha256}", highlight=False)
