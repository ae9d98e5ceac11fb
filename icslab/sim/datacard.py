"""datacard.md: what a dataset is, how it was made, and what is wrong with it on purpose."""

from __future__ import annotations

import pandas as pd

from icslab import __version__
from icslab.formats import TARGETS_SEPARATOR
from icslab.sim.catalog import DatasetSpec
from icslab.sim.historian_export import HistorianExport
from icslab.sim.modbus import WRITE_REGISTER
from icslab.sim.records import Simulation
from icslab.sim.waterworks import (
    AREA,
    BACKWASH_EVERY,
    BACKWASH_FLOW,
    BACKWASH_SECONDS,
    CASCADE_MAX,
    CASCADE_MIN,
    CASCADE_SECONDS,
    CASCADE_STEP,
    HIGH_LIFT_FLOW,
    RIPENING_SECONDS,
    RIVER_PUMP_FLOW,
    SETPOINT_DEFAULTS,
)

PLANT = f"""\
## The plant

A drinking-water works and its distribution, simulated second by second:

| stage | PLC | what happens |
|---|---|---|
| intake | PLC1 | River pumps P101/P102 ({RIVER_PUMP_FLOW:g} m3/h each) fill raw-water tank T101 ({AREA["T101"]:g} m2). |
| dosing | PLC2 | Coagulant dosed in proportion to flow (DSP201); hypochlorite dosed flow-paced and trimmed by a PI loop on the free-chlorine residual (CSP202, AIT401). |
| filtration | PLC3 | Filter inlet valve MV301 on a flow PI loop; the production setpoint FSP301 follows the clear-well level every {CASCADE_SECONDS // 60} min. Backwash ({BACKWASH_SECONDS // 60} min, P301 {BACKWASH_FLOW:g} m3/h from the clear well) when the differential pressure DPIT301 passes DPSP301 or {BACKWASH_EVERY // 3600} h after the last one, then {RIPENING_SECONDS // 60} min of ripening (higher turbidity). |
| reservoir | PLC4 | Clear well T401 ({AREA["T401"]:g} m2); high-lift pumps P401-P403 ({HIGH_LIFT_FLOW:g} m3/h each) fill the elevated tanks. |
| distribution | PLC5 | Altitude valves MV501/MV502 into elevated tanks T501 ({AREA["T501"]:g} m2, zone A) and T502 ({AREA["T502"]:g} m2, zone B); booster P501 for zone B. |

### Control logic

- River pumps: the duty pump starts when LIT101 < LSP101_LOW and stops when LIT101 > LSP101_HIGH; the other assists below LSP101_LOW - 0.5 m until LSP101_LOW + 0.8 m. Duty rotates at midnight (P1_DUTY).
- High-lift pumps: the duty pump starts when LIT501 < LSP501_LOW and stops when LIT501 > LSP501_HIGH; the next pump assists below LSP501_LOW - 0.5 m until LSP501_LOW + 1 m; the third is standby. Duty rotates at 06:00 (P4_DUTY). Interlocks: all stop when LIT401 < LSP401_LOWLOW (released 0.4 m above) or when both altitude valves are shut.
- Altitude valves close when their tank's level passes 6.0 m and reopen below 5.7 m (T501) / 5.6 m (T502); they travel 1 %/s.
- Booster P501 starts when PIT502 < PSP502 and stops above PSP502 + 1 bar.
- Pumps answer their command one second later (`*_RUN` follows `*_CMD`).
- The operator retunes the coagulant dose to the raw turbidity at 08:00 and 20:00.

Default setpoints: {", ".join(f"{k} {v:g}" for k, v in SETPOINT_DEFAULTS.items())}.

### Physics you can check

Tank level change per second = (inflow - outflow) / (3600 * area), flows in m3/h:
T101: FIT101 - FIT301; T401: FIT301 - FIT302 - FIT401; T501: FIT501 - FIT503;
T502: FIT502 - FIT504; and FIT401 = FIT501 + FIT502. Readings carry sensor noise and
16-bit register resolution (1/scale in tags.csv), so check over minutes, not seconds.
"""


def datacard(
    sim: Simulation, spec: DatasetSpec, historian: HistorianExport, modbus: pd.DataFrame
) -> str:
    scada, hidden = sim.scada, spec.hidden_labels
    parts = [
        f"# Dataset `{sim.name}`\n",
        f"{spec.description}.\n",
        f"- Period: {_t(scada['timestamp'].iloc[0])} to {_t(scada['timestamp'].iloc[-1])} "
        f"(UTC), {len(scada):,} seconds at 1 Hz, {len(sim.tags)} tags.",
        *(HIDDEN if hidden else _published(sim, spec)),
        "## Files\n",
        "| file | content |",
        "|---|---|",
        "| scada.parquet | wide telemetry as the SCADA recorded it: `timestamp` and one column per tag |",
        "| scada.arrow | the same table, uncompressed Arrow: what `load_plant` memory-maps |",
        "| historian.parquet | the historian's long export: `timestamp, tag, value, quality` |",
        "| modbus.parquet | Modbus/TCP transactions between the HMI, the PLCs and others |",
        "| modbus.arrow | the same, uncompressed Arrow: what `PlantData.modbus()` memory-maps |",
        *([] if hidden else [LABELS_ROW]),
        "| tags.csv | the tag table below, with PLC, register, scale and historian deadband |\n",
        PLANT,
        "## Tags\n",
        "| tag | unit | kind | stage | low | high | description |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {t.name} | {t.unit} | {t.kind} | {t.stage} | {t.low:g} | {t.high:g} | {t.description} |"
            for t in sim.tags
        ),
        "\n## Attacks\n",
    ]
    if hidden:
        parts.append(_hidden_attacks(spec))
    elif sim.attacks:
        parts += [
            "| id | start | end | kind | targets | description |",
            "|---|---|---|---|---|---|",
        ]
        parts += [
            f"| {a.attack_id} | {_t(a.start)} | {_t(a.end)} | {a.kind} | {TARGETS_SEPARATOR.join(a.targets)} "
            f"| {a.description} |"
            for a in sim.attacks
        ]
    else:
        parts.append("None: this dataset is normal operation only.")
    parts += ["\n" + _quality(sim, historian), _engineering_writes(sim, modbus, hidden)]
    return "\n".join(parts) + "\n"


LABELS_ROW = (
    "| labels.csv | `attack_id, start, end, kind, targets, description` (inclusive times; "
    f"`targets`: tag or PLC names separated by `{TARGETS_SEPARATOR}`, a list per attack in "
    "`load_plant(...).attacks`) |"
)
# Hidden labels: nothing here may pin the attacks down (no seed, times, targets or counts
# beyond what the catalog says), or participants could rebuild the labels.
HIDDEN = (
    "- Attacks: hidden. This is an unseen attack set: the instructors keep its labels to "
    "score the teams' predictions (`icslab leaderboard`).",
    f"- Generated by icslab {__version__} from a seed and attacks drawn for this lab; the "
    "instructors keep them with the labels.",
    "- No labels here, on purpose: predict them.\n",
)


def _published(sim: Simulation, spec: DatasetSpec) -> tuple[str, ...]:
    return (
        f"- Attacks: {len(sim.attacks)} labelled in labels.csv "
        f"({len({a.kind for a in sim.attacks})} kinds).",
        f"- Generated by icslab {__version__} with seed {spec.seed}: the same seed and version "
        "give the same files, byte for byte.",
        "- Labels are only in labels.csv, never in the feature files.\n",
    )


def _hidden_attacks(spec: DatasetSpec) -> str:
    text = "Hidden until the capstone is scored."
    if draw := spec.draw:  # what the catalog says, no more
        kinds = ", ".join(f"`{kind}`" for kind in draw.kinds)
        text += (
            f" {draw.attacks} attacks, each of these kinds at least once: {kinds}. Their times, "
            "targets and values were drawn for this lab, and none repeats an attack of the "
            "published datasets on the same target."
        )
    return text


def _quality(sim: Simulation, historian: HistorianExport) -> str:
    network = sim.network
    lines = [
        "## Known data-quality issues (on purpose)\n",
        "In historian.parquet:",
        f"- An outage: no rows from {_t(historian.outage[0])} to {_t(historian.outage[1])}.",
        f"- {historian.drifting_plc}'s clock drifts: its tags' timestamps run ahead by "
        f"{historian.drift_seconds_per_day:g} s per day.",
        "- Values are stored on change beyond each tag's deadband (tags.csv), and at least "
        "every 10 minutes.",
        "- Periods with quality Bad (value missing), Uncertain (analyser calibration), "
        "Substituted (a value an operator typed in), and stale values that repeat with "
        "quality Good:\n",
        "| kind | tag | start | end |",
        "|---|---|---|---|",
        *(
            f"| {row.kind} | {row.tag} | {_t(row.start)} | {_t(row.end)} |"
            for row in historian.periods().itertuples()
        ),
        "\nIn modbus.parquet: the HMI "
        f"({network.hmi}) polls every PLC's holding registers with function code 3. PLCs: "
        + ", ".join(
            f"{name} {ip} (unit {network.unit_ids[name]})" for name, ip in network.plcs.items()
        )
        + ". Register value = round(value * scale), signed 16-bit.",
    ]
    return "\n".join(lines)


def _engineering_writes(sim: Simulation, modbus: pd.DataFrame, hidden: bool) -> str:
    """What the workstation's FC 6 writes are. Most are PLC3's own cascade, which a network
    detector learns as the workstation's normal traffic: the card says so, and how often.
    With hidden labels, no counts: writes missing during an attack would point at it."""
    network, days, every = sim.network, len(sim.scada) / 86400, CASCADE_SECONDS // 60
    fsp301 = next(t for t in sim.tags if t.name == "FSP301")
    plc3, unit = network.plcs[fsp301.plc], network.unit_ids[fsp301.plc]
    writes = modbus[
        (modbus["src"] == network.engineering) & (modbus["function_code"] == WRITE_REGISTER)
    ]
    tag_at = {(network.plcs[t.plc], t.register): t.name for t in sim.tags}
    counts = writes.groupby(["dst", "address"], observed=True).size()
    per_tag = {tag_at[place]: int(n) for place, n in counts.items()}
    cascade = per_tag.pop("FSP301", 0)
    low, high = (round(v * fsp301.scale) for v in (CASCADE_MIN, CASCADE_MAX))
    others = "; ".join(f"{tag} {n}" for tag, n in sorted(per_tag.items())) or "none"
    if hidden:
        total, cascade_writes, other_writes = "", "most of the writes", "The other writes"
    else:
        total = f": {len(writes):,} writes here"
        cascade_writes = f"{cascade:,} of the writes ({cascade / days:.0f} a day)"
        other_writes = f"The other writes, per tag: {others}"
    lines = [
        f"\nThe engineering workstation ({network.engineering}) writes setpoints with function "
        f"code 6{total}. The simulator exports every setpoint change that no attack explains "
        "as such a write, including changes no engineer makes:\n",
        f"- **FSP301: {cascade_writes} come from PLC3 itself.** PLC3's cascade sets its own "
        f"production setpoint FSP301 from the clear-well level every {every} min (see "
        f"Control logic), and each change appears as {network.engineering} writing register "
        f"{fsp301.register} of PLC3 ({plc3}, unit {unit}), a fraction of a second before the "
        f"{every}-minute mark. A real PLC would not put its own setpoint on the network: "
        "these writes are how the simulator exports the change, and no one at the "
        "workstation sends them. A network detector that learns from this traffic learns "
        f"them as normal: from {network.engineering} only, to that one register, at most one "
        f"every {every} min, values in steps of {CASCADE_STEP:g} m3/h from {CASCADE_MIN:g} "
        f"to {CASCADE_MAX:g} m3/h (registers {low} to {high}). A write to FSP301 from "
        "another host, at another time or outside that range is not this traffic; one from "
        f"{network.engineering} that fits the pattern cannot be told from the cascade by "
        "the traffic alone: compare FSP301 with the clear-well level LIT401 in scada.parquet.",
        f"- {other_writes}. DSP201 changes when the operator retunes the dose at 08:00 and "
        "20:00; a setpoint put back when a tampering attack ends is written the same way.",
    ]
    return "\n".join(lines)


def _t(stamp) -> str:
    return stamp.strftime("%Y-%m-%d %H:%M:%S")
