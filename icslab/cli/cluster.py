"""`icslab cluster ...`: the lab on a Docker Swarm of several machines."""

from __future__ import annotations

import socket
from typing import Annotated

import typer
from rich.table import Table

from icslab.cli.options import DEFAULT_CONFIG, ConfigOption, DataDirOption, group, saved_lab
from icslab.cli.output import console
from icslab.errors import InputError
from icslab.lab import LabPaths, default_data_dir, load_inputs

app = group("Past one server: the swarm, its lab registry, who lives on which node.")

AddressOption = Annotated[
    str | None,
    typer.Option(
        "--address",
        help="The lab server's address as the other machines reach it "
        "[default: this machine's address on its default route]",
    ),
]


@app.command()
def init(
    address: AddressOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
    data_dir: DataDirOption = None,
) -> None:
    """Make this engine the swarm's manager, start the lab registry and push the
    participant image to it; print what each extra machine runs to join."""
    from icslab.cluster.setup import init_cluster

    settings = load_inputs(config, None)[0]
    paths = LabPaths((data_dir or default_data_dir()).resolve())
    made = init_cluster(paths, settings, address or _default_address())
    console.print(
        f"swarm {'made' if made.new_swarm else 'already here'}, manager {made.cluster.address}; "
        f"lab registry https://{made.cluster.registry}; image {made.reference}",
        highlight=False,
    )
    console.print("On each extra machine (Debian, docker.io installed), as root:")
    print(made.join_script)


@app.command()
def status(data_dir: DataDirOption = None) -> None:
    """The nodes, their resources, and which participants run and live on each."""
    from icslab.cluster.setup import cluster_status

    report = cluster_status(LabPaths((data_dir or default_data_dir()).resolve()))
    console.print(
        f"manager {report.cluster.address}; lab registry https://{report.cluster.registry} "
        f"({'answers' if report.registry_answers else 'DOES NOT ANSWER'}); "
        f"image {report.reference or 'not pushed'}",
        highlight=False,
    )
    table = Table("node", "role", "state", "address", "CPUs", "memory", "prepared", "running",
                  "lives here")  # fmt: skip
    for node in report.nodes:
        table.add_row(
            node.hostname,
            node.role,
            f"{node.state}/{node.availability}",
            node.address,
            f"{node.cpus:g}",
            f"{node.memory / 2**30:.1f} GiB",
            "yes" if node.prepared else "NO",
            ", ".join(node.participants) or "-",
            ", ".join(node.lives_here) or "-",
        )
    console.print(table)
    if any(not node.prepared for node in report.nodes):
        console.print(
            "Nodes not prepared get no participants: run step 2 of `icslab cluster init`'s "
            "join steps on them (engine options), then restart their engine."
        )


@app.command()
def move(
    username: Annotated[str, typer.Argument(help="The participant (their team moves too).")],
    to: Annotated[str, typer.Option("--to", help="The node (hostname or id).")],
    fresh: Annotated[
        bool,
        typer.Option(help="Do not copy: their old node is lost; they start with an empty "
                     "work folder there."),
    ] = False,
    data_dir: DataDirOption = None,
) -> None:  # fmt: skip
    """Copy a participant's work (and their team's) to another node and pin them there."""
    from icslab.cluster.move import move as move_to
    from icslab.hub.docker_env import client

    lab = saved_lab(data_dir)
    if not lab.swarm_image:
        raise InputError(f"the lab in {lab.data_dir} is not in swarm mode ([cluster] mode)")
    moved = move_to(client(), lab, username, to, fresh=fresh)
    if moved.copied:
        kept = "the old node keeps its copy until you remove it (`docker volume rm` there)"
        console.print(f"copied {', '.join(moved.volumes)} to {to}; {kept}", highlight=False)
    console.print(
        f"{', '.join(moved.users)} now live on {to}: their next start runs there", highlight=False
    )


def _default_address() -> str:
    """The address this machine leaves by (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only the route is looked up
        return probe.getsockname()[0]
