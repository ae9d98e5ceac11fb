"""Self-checks of 00-welcome."""

from __future__ import annotations

from icslab.checks import Hint, exercise


@exercise("welcome.sensor_count")
def sensor_count(answer, *, plant) -> None:
    if not isinstance(answer, int | float) or isinstance(answer, bool):
        raise Hint("answer with a number (an int), for example the sum of a boolean column")
    if answer == len(plant.tags):
        raise Hint("that counts every tag; keep only the rows whose `kind` is 'sensor'")
    if answer != (plant.tags["kind"] == "sensor").sum():
        raise Hint("compare the `kind` column with 'sensor' and count the True values")


@exercise("welcome.longest_target")
def longest_target(answer, *, plant) -> None:
    durations = plant.attacks["end"] - plant.attacks["start"]
    targets = list(plant.attacks.loc[durations.idxmax(), "targets"])
    if isinstance(answer, list | tuple) and all(isinstance(a, str) for a in answer):
        if [a.strip() for a in answer] == targets:
            return  # the attack's whole list of targets is right too
        raise Hint("compute end - start for each attack and take the row where it is largest")
    if not isinstance(answer, str):
        raise Hint('answer with the tag name as a string, for example "LIT101"')
    if answer.strip() not in targets:
        raise Hint("compute end - start for each attack and take the row where it is largest")
