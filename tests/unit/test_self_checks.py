"""Scenarios: a participant asks `icslab.check` about an exercise's answer."""

import pytest

import icslab
from icslab.checks import CheckFailed, Hint, exercise


@exercise("testing.double")
def _double(answer, *, value):
    if answer != 2 * value:
        raise Hint("multiply the value by two")


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.setenv("ICSLAB_CHECK_STRICT", "0")


def test_a_right_answer_is_confirmed(capsys):
    assert icslab.check("testing.double", 6, value=3)
    assert capsys.readouterr().out == "✅ testing.double: correct!\n"


def test_a_wrong_answer_gets_a_hint_but_not_the_answer(capsys):
    assert not icslab.check("testing.double", 5, value=3)
    printed = capsys.readouterr().out
    assert "not yet. Hint: multiply the value by two" in printed and "6" not in printed


def test_an_unanswered_exercise_does_not_stop_the_notebook(capsys):
    assert not icslab.check("testing.double", ..., value=3)
    assert not icslab.check("testing.double", (1, ...), value=3)
    assert capsys.readouterr().out.count("not answered yet") == 2


def test_an_answer_that_breaks_the_check_is_reported_not_raised(capsys):
    assert not icslab.check("testing.double", object(), value=3)
    assert "not yet" in capsys.readouterr().out


def test_answer_of_the_wrong_type_is_reported(capsys):
    @exercise("testing.length")
    def _length(answer):
        if len(answer) != 3:
            raise Hint("three items")

    assert not icslab.check("testing.length", 5)
    assert "raised TypeError" in capsys.readouterr().out


def test_strict_mode_fails_the_instructor_notebook(monkeypatch):
    monkeypatch.setenv("ICSLAB_CHECK_STRICT", "1")
    with pytest.raises(CheckFailed, match=r"testing\.double: not yet"):
        icslab.check("testing.double", 5, value=3)
    with pytest.raises(CheckFailed, match="not answered yet"):
        icslab.check("testing.double", ..., value=3)


def test_an_unknown_exercise_names_the_notebooks_checks():
    with pytest.raises(KeyError, match=r"'testing\.tripple'.*testing\.double"):
        icslab.check("testing.tripple", 1)
    with pytest.raises(KeyError, match=r"no self-check is called 'nomodule\.x'"):
        icslab.check("nomodule.x", 1)
