"""Same catalog, same seed -> the same files, byte for byte, as the catalog records."""

import pytest

from icslab.errors import InputError
from icslab.formats import FILES
from icslab.sim.build import build_dataset, verify_dataset
from icslab.sim.catalog import load_catalog, select


def test_two_builds_give_identical_bytes_matching_the_catalog(catalog, built, tmp_path):
    again = build_dataset("sample", catalog.datasets["sample"], tmp_path)
    for file in FILES:
        assert (tmp_path / "sample" / file).read_bytes() == (built["sample"] / file).read_bytes()
    assert again == catalog.datasets["sample"].sha256
    assert verify_dataset("test", catalog.datasets["test"], built["test"].parent) == []


def test_the_catalog_has_what_the_workshop_needs(catalog):
    train, test = catalog.datasets["train"], catalog.datasets["test"]
    assert train.hours == 7 * 24 and not train.attacks
    assert test.hours == 3 * 24
    assert len(test.attacks) >= 10 and len({a.kind for a in test.attacks}) >= 6
    published = [spec for spec in catalog.datasets.values() if not spec.hidden_labels]
    assert all(spec.sha256.keys() == set(FILES) for spec in published)


def test_verify_names_a_changed_file(catalog, built, tmp_path):
    copy = tmp_path / "sample"
    copy.mkdir()
    for file in FILES:
        (copy / file).write_bytes((built["sample"] / file).read_bytes())
    (copy / "labels.csv").write_text("attack_id,start,end,kind,targets,description\n")
    (copy / "tags.csv").unlink()
    problems = verify_dataset("sample", catalog.datasets["sample"], tmp_path)
    assert any("labels.csv: sha256" in p for p in problems)
    assert any("tags.csv: missing" in p for p in problems)


def test_an_unknown_dataset_is_named(catalog):
    with pytest.raises(InputError, match="unknown dataset 'week': the catalog has sample, sample-"):
        select(catalog, ["sample", "week"])


@pytest.mark.parametrize(
    ("attack", "message"),
    [
        ('{ kind = "sensor_bias", at = "0d01:00", minutes = 5, target = "P101_CMD" }',
         "target 'P101_CMD' is not a sensor tag"),
        ('{ kind = "frozen", at = "1:00", minutes = 5, target = "LIT101" }',
         "write the offset as <days>d<HH>:<MM>"),
        ('{ kind = "frozen", at = "0d05:00", minutes = 120, target = "LIT101" }',
         "attacks[0] (0d05:00) ends after the dataset"),
        ('{ kind = "replay", at = "0d00:10", minutes = 5, conceal = ["LIT101"], lag_minutes = 60 }',
         "replays from before the dataset starts"),
        ('{ kind = "teleport", at = "0d01:00", minutes = 5, target = "LIT101" }',
         "attacks.0.kind"),
    ],
)  # fmt: skip
def test_a_bad_attack_is_named_with_its_dataset(tmp_path, attack, message):
    path = tmp_path / "catalog.toml"
    path.write_text(
        "version = 1\n[datasets.small]\ndescription = 'x'\nstart = 2026-01-01T00:00:00Z\n"
        f"hours = 6\nseed = 1\nattacks = [{attack}]\n"
    )
    with pytest.raises(InputError) as caught:
        load_catalog(path)
    assert "datasets.small" in str(caught.value) and message in str(caught.value)


def test_overlapping_attacks_are_refused(tmp_path):
    path = tmp_path / "catalog.toml"
    path.write_text(
        "version = 1\n[datasets.small]\ndescription = 'x'\nstart = 2026-01-01T00:00:00Z\n"
        "hours = 6\nseed = 1\nattacks = [\n"
        ' { kind = "frozen", at = "0d01:00", minutes = 30, target = "LIT101" },\n'
        ' { kind = "frozen", at = "0d01:20", minutes = 30, target = "LIT401" }]\n'
    )
    with pytest.raises(InputError, match=r"attacks\[0\] and attacks\[1\] overlap"):
        load_catalog(path)


def test_a_failed_build_keeps_the_old_dataset_and_leaves_nothing_behind(
    catalog, built, tmp_path, monkeypatch
):
    spec = catalog.datasets["sample"]
    build_dataset("sample", spec, tmp_path)
    before = {f: (tmp_path / "sample" / f).read_bytes() for f in FILES}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("icslab.sim.build.pq.write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        build_dataset("sample", spec, tmp_path)

    assert {f: (tmp_path / "sample" / f).read_bytes() for f in FILES} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample"]
