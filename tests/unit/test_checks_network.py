"""Self-checks of 05-network: right answers pass, typical wrong ones get a hint."""

import pandas as pd
import pytest

from icslab.checks import Hint
from icslab.checks.network import (
    allowed,
    minute_labels,
    scan_minutes,
    spoofed_alarms,
    write_limit,
)

WRITE_CODES = [5, 6, 15, 16]
WORKSTATION = "10.10.1.20"


@pytest.fixture(scope="module")
def traffic(train):
    return train.modbus()


@pytest.fixture(scope="module")
def test_traffic(test):
    return test.modbus()


@pytest.fixture(scope="module")
def minutes(test):
    return test.labels.resample("1min").max().index


def triples(frame) -> set:
    return set(frame.groupby(["src", "dst", "function_code"]).size().index)


def per_minute(timestamps, minutes):
    return timestamps.dt.floor("1min").value_counts().reindex(minutes, fill_value=0)


def busiest_minute(traffic) -> int:
    writes = traffic.loc[traffic["function_code"].isin(WRITE_CODES), "timestamp"]
    return int(writes.dt.floor("1min").value_counts().max())


def new_talkers(frame, baseline, minutes):
    key = pd.MultiIndex.from_frame(frame[["src", "dst", "function_code"]])
    return per_minute(frame.loc[~key.isin(baseline), "timestamp"], minutes) > 0


def bursts(frame, limit, minutes):
    writes = frame.loc[frame["function_code"].isin(WRITE_CODES), "timestamp"]
    return per_minute(writes, minutes) > limit


def scans(frame, minutes, exceptions=3, addresses=5):
    by_source = (
        frame.assign(
            minute=frame["timestamp"].dt.floor("1min"), exception=frame["exception_code"] > 0
        )
        .groupby(["minute", "src"])
        .agg(exceptions=("exception", "sum"), addresses=("address", "nunique"))
    )
    rule = (by_source["exceptions"] >= exceptions) | (by_source["addresses"] >= addresses)
    return rule.groupby(level="minute").any().reindex(minutes, fill_value=False)


def spoof(frame, baseline_hosts):
    intruders = set(frame["src"].unique()) - set(baseline_hosts.unique())
    return frame.assign(src=frame["src"].replace(dict.fromkeys(intruders, WORKSTATION)))


# --- allowed ----------------------------------------------------------------


def test_allowed_accepts_the_training_triples_in_any_container(traffic):
    expected = triples(traffic)
    allowed(expected, traffic=traffic)
    allowed(sorted(expected), traffic=traffic)
    allowed(traffic.groupby(["src", "dst", "function_code"]).size(), traffic=traffic)


def test_allowed_refuses_pairs_without_function_codes(traffic):
    pairs = set(traffic.groupby(["src", "dst"]).size().index)
    with pytest.raises(Hint, match="three values"):
        allowed(pairs, traffic=traffic)


def test_allowed_refuses_a_set_missing_the_rare_workstation_writes(traffic):
    common = {t for t in triples(traffic) if t[0] != WORKSTATION}
    with pytest.raises(Hint, match="missing"):
        allowed(common, traffic=traffic)


def test_allowed_refuses_triples_seen_only_in_the_test_traffic(traffic, test_traffic):
    with pytest.raises(Hint, match="never occur"):
        allowed(triples(traffic) | triples(test_traffic), traffic=traffic)


def test_allowed_refuses_a_dataframe(traffic):
    with pytest.raises(Hint, match="set of"):
        allowed(traffic[["src", "dst", "function_code"]], traffic=traffic)


# --- write_limit -------------------------------------------------------------


def test_write_limit_accepts_the_busiest_normal_minute_and_some_headroom(
    traffic, test_traffic, test
):
    context = {"train_traffic": traffic, "test_traffic": test_traffic, "plant": test}
    busiest = busiest_minute(traffic)
    write_limit(busiest, **context)
    write_limit(busiest + 5, **context)
    write_limit(float(busiest) + 0.5, **context)


@pytest.mark.parametrize("wrong", [0, -1])
def test_write_limit_refuses_a_limit_that_alarms_on_normal_minutes(
    traffic, test_traffic, test, wrong
):
    assert busiest_minute(traffic) > wrong
    with pytest.raises(Hint, match="normal TRAIN traffic"):
        write_limit(wrong, train_traffic=traffic, test_traffic=test_traffic, plant=test)


def test_write_limit_refuses_a_limit_the_injections_stay_under(traffic, test_traffic, test):
    injected = bursts(test_traffic, 0, test.labels.resample("1min").max().index).sum()
    assert injected > 0
    with pytest.raises(Hint, match="never exceed it"):
        write_limit(1000, train_traffic=traffic, test_traffic=test_traffic, plant=test)


@pytest.mark.parametrize("wrong", [True, "2", None, float("nan")])
def test_write_limit_wants_a_number(traffic, test_traffic, test, wrong):
    with pytest.raises(Hint, match="number"):
        write_limit(wrong, train_traffic=traffic, test_traffic=test_traffic, plant=test)


# --- scan_minutes ------------------------------------------------------------


def test_scan_minutes_accepts_the_exception_or_address_rule(test_traffic, test, minutes):
    scan_minutes(scans(test_traffic, minutes), plant=test)
    scan_minutes(scans(test_traffic, minutes, exceptions=10, addresses=20), plant=test)
    scan_minutes(scans(test_traffic, minutes).to_numpy(), plant=test)
    scan_minutes(scans(test_traffic, minutes).astype(int), plant=test)


def test_scan_minutes_refuses_thresholds_no_scan_reaches(test_traffic, test, minutes):
    with pytest.raises(Hint, match="no alarm"):
        scan_minutes(scans(test_traffic, minutes, 10_000, 10_000), plant=test)


def test_scan_minutes_refuses_an_alarm_that_is_always_on(test, minutes):
    with pytest.raises(Hint, match="without scans"):
        scan_minutes(pd.Series(True, index=minutes), plant=test)


def test_scan_minutes_refuses_a_rule_that_also_fires_on_the_polls(test_traffic, test, minutes):
    with pytest.raises(Hint):
        scan_minutes(scans(test_traffic, minutes, exceptions=0, addresses=1), plant=test)


def test_scan_minutes_refuses_a_rule_that_fires_on_every_new_talker(
    traffic, test_traffic, test, minutes
):
    with pytest.raises(Hint, match="without scans"):
        scan_minutes(new_talkers(test_traffic, triples(traffic), minutes), plant=test)


def test_scan_minutes_wants_every_minute_of_the_test_period(test_traffic, test, minutes):
    sparse = scans(test_traffic, minutes)
    with pytest.raises(Hint, match="reindex"):
        scan_minutes(sparse[sparse], plant=test)
    with pytest.raises(Hint, match="every minute"):
        scan_minutes(sparse.to_numpy()[:-1], plant=test)


def test_scan_minutes_wants_booleans_not_counts(test_traffic, test, minutes):
    counts = per_minute(test_traffic.loc[test_traffic["exception_code"] > 0, "timestamp"], minutes)
    with pytest.raises(Hint, match="True/False"):
        scan_minutes(counts, plant=test)


# --- spoofed_alarms ----------------------------------------------------------


def test_spoofed_alarms_accepts_the_three_rules_together(traffic, test_traffic, test, minutes):
    spoofed = spoof(test_traffic, traffic["src"])
    alarms = (
        new_talkers(spoofed, triples(traffic), minutes)
        | bursts(spoofed, busiest_minute(traffic), minutes)
        | scans(spoofed, minutes)
    )
    spoofed_alarms(alarms, plant=test)


@pytest.mark.parametrize("rule", ["bursts", "scans"])
def test_spoofed_alarms_refuses_one_rule_alone(traffic, test_traffic, test, minutes, rule):
    spoofed = spoof(test_traffic, traffic["src"])
    alarms = (
        bursts(spoofed, busiest_minute(traffic), minutes)
        if rule == "bursts"
        else scans(spoofed, minutes)
    )
    with pytest.raises(Hint, match="no alarm"):
        spoofed_alarms(alarms, plant=test)


def test_spoofed_alarms_refuses_alarming_all_the_time(test, minutes):
    with pytest.raises(Hint, match="without network attacks"):
        spoofed_alarms(pd.Series(True, index=minutes), plant=test)


def test_spoofed_alarms_refuses_a_chatty_detector(test, minutes):
    chatty = minute_labels(test, "Modbus")  # every network attack...
    chatty.iloc[::30] = True  # ...plus an alarm every half hour
    with pytest.raises(Hint, match="false alarm"):
        spoofed_alarms(chatty, plant=test)
