"""Roster CSV: who may log in. Every problem is listed with its line."""

import pytest

from icslab.errors import InputError
from icslab.roster import Member, read_roster, teams


def roster(tmp_path, text):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    return path


def problems(tmp_path, text):
    with pytest.raises(InputError) as caught:
        read_roster(roster(tmp_path, text))
    return [p.split(": ", 1) for p in caught.value.problems]


def test_a_good_roster_gives_members_and_teams(tmp_path):
    members = read_roster(
        roster(
            tmp_path,
            "username,team,role\ntrainer1,,instructor\np01,water,participant\n"
            "p02,water,Participant\n\np03,power,participant\n",
        )
    )
    assert members[0] == Member("trainer1", "", "instructor")
    assert members[2] == Member("p02", "water", "participant")
    assert teams(members) == {"water": ["p01", "p02"], "power": ["p03"]}


def test_columns_may_come_in_any_order_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes("\ufeffrole,username,team\nparticipant,p01,gas\n".encode())
    assert read_roster(path) == [Member("p01", "gas", "participant")]


def test_a_missing_column_is_named(tmp_path):
    (problem,) = problems(tmp_path, "username,role\np01,participant\n")
    assert problem == [
        f"{tmp_path / 'roster.csv'}:1",
        "header must name the columns username,team,role; missing: team",
    ]


def test_every_bad_line_is_reported(tmp_path):
    found = problems(
        tmp_path,
        "username,team,role\n"
        "p01,water,participant\n"  # 2: fine
        "P02,water,participant\n"  # 3: uppercase
        "p01,power,participant\n"  # 4: duplicate
        "p04,water,student\n"  # 5: unknown role
        ",water,participant\n"  # 6: empty username
        "p06,,participant\n"  # 7: participant without team
        "p07,participants,participant\n",  # 8: reserved team name
    )
    lines = [where.rsplit(":", 1)[1] for where, _ in found]
    messages = [message for _, message in found]
    assert lines == ["3", "4", "5", "6", "7", "8"]
    assert messages[0].startswith("invalid username 'P02'")
    assert messages[1] == "duplicate username 'p01' (first on line 2)"
    assert messages[2] == "unknown role 'student': use one of participant, instructor"
    assert messages[3] == "username is empty"
    assert messages[4] == "participant 'p06' needs a team"
    assert messages[5] == "team name 'participants' is reserved by the lab; choose another"


def test_names_are_1_to_32_characters_and_a_team_is_a_name_too(tmp_path):
    # Usernames and teams name folders, containers and volumes: "../x" must never pass.
    longest = "a" * 32
    members = read_roster(
        roster(tmp_path, f"username,team,role\n{longest},{longest},participant\na,b,participant\n")
    )
    assert [(m.username, m.team) for m in members] == [(longest, longest), ("a", "b")]
    found = problems(
        tmp_path,
        "username,team,role\n"
        f"{longest}x,water,participant\n"  # 2: username one too long
        f"p02,{longest}x,participant\n"  # 3: team one too long
        "p03,../etc,participant\n"  # 4: team as a path
        "p04,Water,participant\n",  # 5: team uppercase
    )
    assert [where.rsplit(":", 1)[1] for where, _ in found] == ["2", "3", "4", "5"]
    assert found[0][1].startswith(f"invalid username '{longest}x': use 1-32 lowercase")
    assert [message.split(":")[0] for _, message in found[1:]] == [
        f"invalid team '{longest}x'",
        "invalid team '../etc'",
        "invalid team 'Water'",
    ]


def test_an_empty_roster_is_refused(tmp_path):
    assert problems(tmp_path, "username,team,role\n") == [
        [str(tmp_path / "roster.csv"), "the roster has no users; add one line per person"]
    ]
    assert problems(tmp_path, "")[0][1].startswith("header must name the columns")


def test_a_missing_roster_file_says_how_to_pass_one(tmp_path):
    with pytest.raises(InputError, match=r"roster not found \(pass --roster CSV\)"):
        read_roster(tmp_path / "absent.csv")


def test_an_instructor_in_a_team_is_refused_with_the_line(tmp_path):
    # Teammates may run code on each other's servers: an instructor's must stay out.
    found = problems(
        tmp_path, "username,team,role\np01,water,participant\ntrainer1,water,instructor\n"
    )
    assert found == [
        [
            f"{tmp_path / 'roster.csv'}:3",
            "instructor 'trainer1' cannot be in team 'water' (teammates may run code on each "
            "other's servers): leave the team column empty",
        ]
    ]
