"""Test support: a real lab in a folder (`labs`) and a scripted browser of its
users (`client`), for the tests and the benchmarks. The lab's own code never
imports it."""

from icslab.testing.labs import (
    EXAMPLE_ROSTER,
    PARTICIPANT_IMAGE,
    TEST_ADDRESS,
    TEST_HOST,
    RunningLab,
    docker_lab,
    lan_host,
    unique_prefix,
    write_roster,
    write_settings,
)

__all__ = [
    "EXAMPLE_ROSTER",
    "PARTICIPANT_IMAGE",
    "TEST_ADDRESS",
    "TEST_HOST",
    "RunningLab",
    "docker_lab",
    "lan_host",
    "unique_prefix",
    "write_roster",
    "write_settings",
]
