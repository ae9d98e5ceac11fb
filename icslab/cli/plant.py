"""`icslab plant ...`: a live plant per team, attacked while teams watch it."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from icslab.cli.options import DataDirOption, group, saved_lab
from icslab.cli.output import console
from icslab.errors import InputError

app = group("Live plants: the water works running per team over Modbus/TCP, attacked live.")

# What each kind needs, for `icslab plant attack list` (icslab.sim.attacks.KINDS).
KINDS = {
    "sensor_constant": "--target SENSOR --value V: the sensor reads V",
    "sensor_bias": "--target SENSOR --value V: V added to its reading",
    "sensor_drift": "--target SENSOR --value V: drifts by V per hour",
    "frozen": "--target SENSOR: its reading stops changing",
    "replay": "--conceal S1,S2 --lag 30m [--target OUTPUT --value V]: old readings replayed",
    "actuator_force": "--target OUTPUT --value V: the output forced to V",
    "setpoint_tamper": "--target SETPOINT --value V: the setpoint changed to V",
    "modbus_injection": "--target OUTPUT|SETPOINT --value V: an attacker host writes it",
    "reconnaissance": "--target PLC1..PLC5: an attacker host scans its registers",
    "coordinated": "--action KIND:TARGET=V --action ...: two or more of the above at once",
}
DURATION = re.compile(r"^(\d+)([smh]?)$")


def duration(text: str) -> int:
    """'90', '90s', '10m', '2h' -> seconds."""
    match = DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise InputError(f"{text!r}: a duration such as 90s, 10m or 2h")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


ACTION = re.compile(r"^(\w+):(\w+)(?:=(-?[\d.]+))?$")


def _action(text: str) -> dict:
    """'actuator_force:P401_CMD=0' -> one action of a coordinated attack."""
    match = ACTION.match(text.strip())
    if not match:
        raise InputError(
            f"--action {text!r}: write KIND:TARGET=VALUE, e.g. actuator_force:P401_CMD=0"
        )
    kind, target, value = match.groups()
    return {"kind": kind, "target": target, "value": float(value or 0)}


TeamOption = Annotated[
    str | None, typer.Option(help="The team whose plant (not with a --shared plant).")
]


@app.command()
def up(
    speed: Annotated[float, typer.Option(help="Simulated seconds per second.")] = 1.0,
    red_team: Annotated[
        bool, typer.Option("--red-team", help="Participants' Modbus writes take effect.")
    ] = False,
    shared: Annotated[
        bool, typer.Option("--shared", help="One plant for the whole room, not one per team.")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Start one plant per team (each team's servers reach theirs), or --shared: one."""
    from icslab.plant import lifecycle

    lab = saved_lab(data_dir)
    for line in lifecycle.up(lab, speed=speed, red_team=red_team, one=shared):
        console.print(line, highlight=False)


@app.command()
def status(data_dir: DataDirOption = None) -> None:
    """Each plant: running, its time, attacks under way."""
    from icslab.plant import lifecycle

    for team, state in lifecycle.status(saved_lab(data_dir)).items():
        if state is None:
            console.print(f"{team}: not running", highlight=False)
            continue
        attacks = ", ".join(
            f"{a['attack_id']} {a['kind']} on {'/'.join(a['targets'])} until {a['end'][11:19]}"
            for a in state["attacks"]
        )
        console.print(
            f"{team}: running at {state['speed']:g}x, plant time {state['time'][:19]}, "
            f"{state['writes']} writes; attacks: {attacks or 'none'}"
            + (" (red team)" if state["red_team"] else ""),
            highlight=False,
        )


@app.command()
def attack(
    kind: Annotated[str, typer.Argument(help="An attack kind, or `list`.")],
    team: TeamOption = None,
    target: Annotated[str, typer.Option(help="A tag, or a PLC (reconnaissance).")] = "",
    value: Annotated[float, typer.Option(help="The value (see `attack list`).")] = 0.0,
    for_: Annotated[str, typer.Option("--for", help="How long: 90s, 10m, 2h.")] = "10m",
    lag: Annotated[str, typer.Option(help="replay: how far back (e.g. 30m).")] = "",
    conceal: Annotated[str, typer.Option(help="replay: sensors, comma-separated.")] = "",
    action: Annotated[
        list[str] | None, typer.Option(help="coordinated: KIND:TARGET=VALUE, two or more.")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Launch an attack on a team's plant now (`icslab plant attack list`: the kinds)."""
    from icslab.plant import lifecycle

    if kind == "list":
        for name, needs in KINDS.items():
            console.print(f"{name:18s} {needs}", highlight=False)
        return
    if kind not in KINDS:
        raise InputError(f"{kind}: not an attack kind (`icslab plant attack list`)")
    body: dict = {"kind": kind, "target": target, "value": value, "seconds": duration(for_)}
    if lag:
        body["lag_minutes"] = max(1, duration(lag) // 60)
    if conceal:
        body["conceal"] = [name.strip() for name in conceal.split(",") if name.strip()]
    if action:
        body["actions"] = [_action(text) for text in action]
    started = lifecycle.attack(saved_lab(data_dir), team, body)
    console.print(
        f"{started['attack_id']}: {kind} on {_whose(team)} from {started['start'][11:19]} "
        f"to {started['end'][11:19]} (plant time)",
        highlight=False,
    )


@app.command("stop-attack")
def stop_attack(team: TeamOption = None, data_dir: DataDirOption = None) -> None:
    """End every attack under way on a team's plant."""
    from icslab.plant import lifecycle

    lifecycle.stop_attack(saved_lab(data_dir), team)
    console.print(f"{_whose(team)}: attacks stopped", highlight=False)


@app.command()
def reset(team: TeamOption = None, data_dir: DataDirOption = None) -> None:
    """Back to normal operation (attacks stopped; history and ground truth kept)."""
    from icslab.plant import lifecycle

    lifecycle.reset(saved_lab(data_dir), team)
    console.print(f"{_whose(team)}: plant reset", highlight=False)


@app.command()
def down(data_dir: DataDirOption = None) -> None:
    """Stop every plant."""
    from icslab.plant import lifecycle

    for line in lifecycle.down(saved_lab(data_dir)) or ["no plant was running"]:
        console.print(line, highlight=False)


def _whose(team: str | None) -> str:
    return f"team {team}'s plant" if team else "the room's plant"
