"""Self-checks of 04-machine-learning: right answers pass, typical wrong ones get a hint."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest, RandomForestClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from icslab import metrics
from icslab.checks import Hint
from icslab.checks.ml import (
    chronological_f1,
    chronological_reference,
    threshold,
    top_tag,
    validation_threshold,
)
from icslab.data import load_plant
from icslab.detect import PCAResidualDetector


@pytest.fixture(scope="module")
def train1m():
    return load_plant("sample-train").features.resample("1min").mean()


@pytest.fixture(scope="module")
def test_plant():
    return load_plant("sample")


@pytest.fixture(scope="module")
def test1m(test_plant):
    return test_plant.features.resample("1min").mean()


@pytest.fixture(scope="module")
def labels1m(test_plant):
    return test_plant.labels.resample("1min").max()


@pytest.fixture(scope="module")
def scores(train1m, test1m):
    forest = IsolationForest(random_state=0, n_jobs=1).fit(train1m)
    return {
        "train_scores": pd.Series(-forest.score_samples(train1m), index=train1m.index),
        "test_scores": pd.Series(-forest.score_samples(test1m), index=test1m.index),
    }


# -- threshold


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "nearest"])
def test_threshold_accepts_the_99th_percentile_of_the_training_scores(scores, method):
    threshold(np.quantile(scores["train_scores"], 0.99, method=method), **scores)
    threshold(scores["train_scores"].quantile(0.99), **scores)


def test_threshold_rejects_the_test_scores_the_wrong_end_and_other_values(scores):
    peeked = scores["test_scores"].quantile(0.99)
    assert abs(peeked - scores["train_scores"].quantile(0.99)) > 0.01
    with pytest.raises(Hint, match="test scores"):
        threshold(peeked, **scores)
    with pytest.raises(Hint, match="higher scores are more unusual"):
        threshold(scores["train_scores"].quantile(0.01), **scores)
    with pytest.raises(Hint, match="1 %"):
        threshold(scores["train_scores"].max(), **scores)
    with pytest.raises(Hint, match="number"):
        threshold("0.6", **scores)
    with pytest.raises(Hint, match="one number"):
        threshold(scores["train_scores"].to_numpy(), **scores)


# -- top_tag


@pytest.fixture(scope="module")
def replay_context(train1m, test1m, test_plant):
    pca = PCAResidualDetector(n_components=0.99, quantile=0.99).fit(train1m)
    attack = test_plant.attacks[test_plant.attacks["kind"] == "replay"].iloc[0]
    return {"components": pca.score_components(test1m), "attack": attack}


def test_top_tag_accepts_the_largest_mean_contribution(replay_context):
    components, attack = replay_context["components"], replay_context["attack"]
    share = components.loc[attack["start"] : attack["end"]].mean()
    top_tag(share.idxmax(), **replay_context)
    top_tag(f" {share.idxmax()} ", **replay_context)


def test_top_tag_rejects_other_tags_and_non_tags(replay_context):
    components, attack = replay_context["components"], replay_context["attack"]
    share = components.loc[attack["start"] : attack["end"]].mean()
    whole_test = components.mean().idxmax()  # the top tag over the whole test, not the attack
    if whole_test != share.idxmax():
        with pytest.raises(Hint, match="between the attack's start and end"):
            top_tag(whole_test, **replay_context)
    with pytest.raises(Hint, match="between the attack's start and end"):
        top_tag(share.idxmin(), **replay_context)
    with pytest.raises(Hint, match="column name"):
        top_tag("PLC4", **replay_context)
    with pytest.raises(Hint, match="string"):
        top_tag(["MV501"], **replay_context)


# -- validation_threshold


@pytest.fixture(scope="module")
def validation(train1m):
    cut = int(len(train1m) * 0.7)
    pca = PCAResidualDetector(n_components=0.99).fit(train1m.iloc[:cut])
    valid = train1m.iloc[cut:]
    scores = pd.Series(pca.decision_function(valid), index=valid.index)
    return {"scores": scores, "candidates": np.quantile(scores, np.linspace(0.9, 1.0, 101))}


def lowest(validation, budget):
    scores, candidates = validation["scores"], validation["candidates"]
    no_attack = pd.Series(False, index=scores.index)
    return min(
        t for t in candidates if metrics.false_alarms_per_day(no_attack, scores > t) <= budget
    )


@pytest.mark.parametrize("budget", [1.0, 30.0])
def test_validation_threshold_accepts_the_lowest_candidate_within_budget(validation, budget):
    validation_threshold(lowest(validation, budget), budget=budget, **validation)


def test_validation_threshold_rejects_too_low_and_needlessly_high_thresholds(validation):
    budget = 30.0  # about two alarms in the sample's held-out 1.8 hours
    right = lowest(validation, budget)
    assert right < validation["candidates"].max()
    with pytest.raises(Hint, match="more false alarms per day than"):
        validation_threshold(validation["candidates"][0], budget=budget, **validation)
    with pytest.raises(Hint, match="lowest"):
        validation_threshold(validation["candidates"].max(), budget=budget, **validation)
    with pytest.raises(Hint, match="number"):
        validation_threshold(None, budget=budget, **validation)


# -- chronological_f1


@pytest.fixture(scope="module")
def split_context(test1m, labels1m):
    X_a, X_b, y_a, y_b = train_test_split(test1m, labels1m, test_size=0.5, random_state=0)
    forest = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(X_a, y_a)
    shuffled = f1_score(y_b, forest.predict(X_b))
    return {"features": test1m, "labels": labels1m, "shuffled_f1": shuffled}


def test_chronological_f1_accepts_the_split_in_time(split_context):
    reference = chronological_reference(split_context["features"], split_context["labels"])
    chronological_f1(reference, **split_context)
    features, labels = split_context["features"], split_context["labels"]
    half = len(features) // 2  # another seed and size of forest: close enough
    forest = RandomForestClassifier(n_estimators=50, random_state=1, n_jobs=1)
    forest.fit(features.iloc[:half], labels.iloc[:half])
    chronological_f1(
        f1_score(labels.iloc[half:], forest.predict(features.iloc[half:])), **split_context
    )


def test_chronological_f1_rejects_the_shuffled_score_and_impossible_values(split_context):
    reference = chronological_reference(split_context["features"], split_context["labels"])
    shuffled = split_context["shuffled_f1"]
    assert shuffled - reference > 0.3  # the leak this exercise is about
    with pytest.raises(Hint, match="shuffled"):
        chronological_f1(shuffled, **split_context)
    with pytest.raises(Hint, match="between 0 and 1"):
        chronological_f1(1.5, **split_context)
    with pytest.raises(Hint, match="first half"):
        chronological_f1(min(1.0, reference + 0.3) if reference < 0.6 else 0.0, **split_context)
