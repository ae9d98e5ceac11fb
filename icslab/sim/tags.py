"""The plant's tag list: a water treatment works feeding two elevated tanks.

intake (PLC1) -> chemical dosing (PLC2) -> filtration (PLC3) -> treated-water
reservoir / clear well (PLC4) -> distribution: two elevated tanks, two zones
(PLC5). Each PLC's tags sit on consecutive Modbus holding registers from 0.
"""

from __future__ import annotations

from icslab.sim.records import Tag, TagKind

_STAGE_PLC = {
    "intake": "PLC1",
    "dosing": "PLC2",
    "filtration": "PLC3",
    "reservoir": "PLC4",
    "distribution": "PLC5",
}

# name, unit, kind, stage, low, high, deadband, register scale, description
# fmt: off
_ROWS: list[tuple[str, str, TagKind, str, float, float, float, float, str]] = [
    # -- intake: river pumps fill the raw-water tank T101
    ("LIT101", "m", "sensor", "intake", 0, 5, 0.02, 100, "Raw-water tank T101 level"),
    ("FIT101", "m3/h", "sensor", "intake", 0, 1500, 5, 10, "Intake flow from the river pumps"),
    ("PIT101", "bar", "sensor", "intake", 0, 4, 0.05, 100, "Intake pumps' discharge pressure"),
    ("AIT101", "NTU", "sensor", "intake", 0, 100, 0.2, 100, "Raw-water turbidity"),
    ("AIT102", "pH", "sensor", "intake", 6, 9, 0.02, 100, "Raw-water pH"),
    ("AIT103", "degC", "sensor", "intake", 0, 30, 0.1, 100, "Raw-water temperature"),
    ("P101_CMD", "", "actuator", "intake", 0, 1, 0, 1, "River pump P101 run command"),
    ("P102_CMD", "", "actuator", "intake", 0, 1, 0, 1, "River pump P102 run command"),
    ("P101_RUN", "", "status", "intake", 0, 1, 0, 1, "River pump P101 running"),
    ("P102_RUN", "", "status", "intake", 0, 1, 0, 1, "River pump P102 running"),
    ("P1_DUTY", "", "status", "intake", 1, 2, 0, 1, "Duty river pump (1 or 2), rotates daily"),
    ("LSP101_LOW", "m", "setpoint", "intake", 0, 5, 0, 100, "T101 level: duty pump starts"),
    ("LSP101_HIGH", "m", "setpoint", "intake", 0, 5, 0, 100, "T101 level: duty pump stops"),
    # -- dosing: coagulant proportional to flow, chlorine on residual (PI)
    ("DSP201", "mg/L", "setpoint", "dosing", 0, 80, 0, 10, "Coagulant dose setpoint"),
    ("FIT201", "L/h", "sensor", "dosing", 0, 60, 0.2, 10, "Coagulant dosing flow"),
    ("SIT201", "%", "actuator", "dosing", 0, 100, 0.5, 10, "Coagulant pump P201 speed"),
    ("P201_RUN", "", "status", "dosing", 0, 1, 0, 1, "Coagulant pump P201 running"),
    ("LIT201", "m", "sensor", "dosing", 0, 3, 0.01, 100, "Coagulant tank level"),
    ("AIT201", "pH", "sensor", "dosing", 6, 9, 0.02, 100, "Coagulated-water pH"),
    ("CSP202", "mg/L", "setpoint", "dosing", 0, 4, 0, 100, "Chlorine residual setpoint"),
    ("FIT202", "L/h", "sensor", "dosing", 0, 20, 0.05, 100, "Chlorine (hypochlorite) dosing flow"),
    ("SIT202", "%", "actuator", "dosing", 0, 100, 0.5, 10, "Chlorine pump P202 speed"),
    ("P202_RUN", "", "status", "dosing", 0, 1, 0, 1, "Chlorine pump P202 running"),
    ("LIT202", "m", "sensor", "dosing", 0, 2, 0.01, 100, "Hypochlorite tank level"),
    # -- filtration: inlet valve on a flow PI loop, backwash on differential pressure
    ("FSP301", "m3/h", "setpoint", "filtration", 0, 900, 0, 10, "Production flow setpoint"),
    ("FIT301", "m3/h", "sensor", "filtration", 0, 900, 5, 10, "Filtered-water flow"),
    ("MV301", "%", "actuator", "filtration", 0, 100, 0.5, 10, "Filter inlet valve position"),
    ("DPIT301", "kPa", "sensor", "filtration", 0, 100, 0.5, 10, "Filter differential pressure"),
    ("DPSP301", "kPa", "setpoint", "filtration", 0, 100, 0, 10, "Backwash trigger pressure"),
    ("AIT301", "NTU", "sensor", "filtration", 0, 5, 0.01, 1000, "Filtered-water turbidity"),
    ("P301_CMD", "", "actuator", "filtration", 0, 1, 0, 1, "Backwash pump P301 run command"),
    ("P301_RUN", "", "status", "filtration", 0, 1, 0, 1, "Backwash pump P301 running"),
    ("FIT302", "m3/h", "sensor", "filtration", 0, 1200, 5, 10, "Backwash flow"),
    ("BW301_STATE", "", "status", "filtration", 0, 2, 0, 1, "Filter: 0 filtering, 1 backwash, 2 ripening"),
    # -- reservoir: clear well T401, high-lift pumps to distribution
    ("LIT401", "m", "sensor", "reservoir", 0, 6, 0.02, 100, "Clear well T401 level"),
    ("FIT401", "m3/h", "sensor", "reservoir", 0, 1500, 5, 10, "High-lift pumps' flow to distribution"),
    ("PIT401", "bar", "sensor", "reservoir", 0, 8, 0.05, 100, "High-lift pumps' discharge pressure"),
    ("AIT401", "mg/L", "sensor", "reservoir", 0, 4, 0.02, 100, "Free chlorine residual"),
    ("AIT402", "pH", "sensor", "reservoir", 6, 9, 0.02, 100, "Treated-water pH"),
    ("AIT403", "NTU", "sensor", "reservoir", 0, 5, 0.01, 1000, "Treated-water turbidity"),
    ("P401_CMD", "", "actuator", "reservoir", 0, 1, 0, 1, "High-lift pump P401 run command"),
    ("P402_CMD", "", "actuator", "reservoir", 0, 1, 0, 1, "High-lift pump P402 run command"),
    ("P403_CMD", "", "actuator", "reservoir", 0, 1, 0, 1, "High-lift pump P403 run command"),
    ("P401_RUN", "", "status", "reservoir", 0, 1, 0, 1, "High-lift pump P401 running"),
    ("P402_RUN", "", "status", "reservoir", 0, 1, 0, 1, "High-lift pump P402 running"),
    ("P403_RUN", "", "status", "reservoir", 0, 1, 0, 1, "High-lift pump P403 running"),
    ("P4_DUTY", "", "status", "reservoir", 1, 3, 0, 1, "Duty high-lift pump (1-3), rotates daily"),
    ("LSP401_LOWLOW", "m", "setpoint", "reservoir", 0, 6, 0, 100, "Clear well dry-run interlock level"),
    # -- distribution: altitude valves into two elevated tanks, a zone B booster
    ("LIT501", "m", "sensor", "distribution", 0, 6.5, 0.02, 100, "Elevated tank T501 (zone A) level"),
    ("LIT502", "m", "sensor", "distribution", 0, 6.5, 0.02, 100, "Elevated tank T502 (zone B) level"),
    ("MV501", "%", "actuator", "distribution", 0, 100, 1, 10, "Altitude valve into T501"),
    ("MV502", "%", "actuator", "distribution", 0, 100, 1, 10, "Altitude valve into T502"),
    ("FIT501", "m3/h", "sensor", "distribution", 0, 1500, 5, 10, "Flow into T501"),
    ("FIT502", "m3/h", "sensor", "distribution", 0, 1500, 5, 10, "Flow into T502"),
    ("FIT503", "m3/h", "sensor", "distribution", 0, 800, 5, 10, "Zone A demand (out of T501)"),
    ("FIT504", "m3/h", "sensor", "distribution", 0, 800, 5, 10, "Zone B demand (out of T502)"),
    ("PIT501", "bar", "sensor", "distribution", 0, 8, 0.05, 100, "Zone A network pressure"),
    ("PIT502", "bar", "sensor", "distribution", 0, 8, 0.05, 100, "Zone B network pressure"),
    ("P501_CMD", "", "actuator", "distribution", 0, 1, 0, 1, "Zone B booster P501 run command"),
    ("P501_RUN", "", "status", "distribution", 0, 1, 0, 1, "Zone B booster P501 running"),
    ("LSP501_LOW", "m", "setpoint", "distribution", 0, 6.5, 0, 100, "T501 level: duty high-lift pump starts"),
    ("LSP501_HIGH", "m", "setpoint", "distribution", 0, 6.5, 0, 100, "T501 level: duty high-lift pump stops"),
    ("PSP502", "bar", "setpoint", "distribution", 0, 8, 0, 100, "Zone B pressure: booster starts below"),
]
# fmt: on


def _tags() -> list[Tag]:
    registers: dict[str, int] = {}
    tags = []
    for name, unit, kind, stage, low, high, deadband, scale, description in _ROWS:
        plc = _STAGE_PLC[stage]
        register = registers.get(plc, 0)
        registers[plc] = register + 1
        tags.append(
            Tag(
                name,
                unit,
                kind,
                stage,
                description,
                float(low),
                float(high),
                float(deadband),
                plc,
                register,
                float(scale),
            )
        )
    return tags


TAGS: list[Tag] = _tags()
TAG_NAMES: list[str] = [tag.name for tag in TAGS]
BY_NAME: dict[str, Tag] = {tag.name: tag for tag in TAGS}
