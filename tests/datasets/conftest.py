"""Datasets built once per test session, from the real catalog."""

import pytest

from icslab.sim.build import build_dataset
from icslab.sim.catalog import load_catalog
from icslab.sim.simulate import simulate


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


@pytest.fixture(scope="session")
def built(catalog, tmp_path_factory):
    """sample and test built into a temporary folder: {name: folder}."""
    out = tmp_path_factory.mktemp("datasets")
    for name in ("sample", "test"):
        build_dataset(name, catalog.datasets[name], out)
    return {name: out / name for name in ("sample", "test")}


@pytest.fixture(scope="session")
def test_runs(catalog):
    """The test set as built, and the same plant (same seed) left alone."""
    spec = catalog.datasets["test"]
    return simulate("test", spec), simulate("test", spec.model_copy(update={"attacks": ()}))
