"""Team workspaces: a folder each roster team shares, and what tells a server its team.

Docker mode: a named volume `<prefix>-team-<team>` mounted at work/team in the
containers of that team's members only (no other container mounts it, and
containers cannot reach each other). Local mode: DATA_DIR/teams/<team>, linked
as `team` in each member's home (local mode isolates nothing; see the README).
A member's server gets ICSLAB_TEAM, ICSLAB_TEAM_MEMBERS and ICSLAB_TEAM_DIR (to
find and name its team's work; what a team hands in goes to the lab's hand-in
service, which takes the team from the roster, never from these).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from icslab.lab import LabPaths
from icslab.roster import Member, teams

TEAM_FOLDER = "team"  # under the participant's work folder / home
# Where a participant's work volume is in the image (images/participant/Dockerfile).
IMAGE_HOME = "/home/jovyan/work"
IMAGE_TEAM_DIR = f"{IMAGE_HOME}/{TEAM_FOLDER}"


def team_volume(prefix: str, team: str) -> str:
    return f"{prefix}-team-{team}"


def user_volume(prefix: str, username: str) -> str:
    return f"{prefix}-user-{username}"


SHARED_PLANT = "_room"  # `icslab plant up --shared`: the room's plant (no team starts with _)


def plant_network(prefix: str, team: str) -> str:
    """Docker mode: the network that joins a team's servers to its live plant."""
    return f"{prefix}-plant-{team}"


def plants_container(prefix: str) -> str:
    """The container of the lab's live plants (icslab.plant.sandbox): no participant's
    name (theirs is <prefix>-<user>, users start with a letter)."""
    return f"{prefix}-_plants"


def plants_run_by(attrs: dict) -> list[str]:
    """The plants a plants' container runs (`docker inspect`): its command ends with
    their folders, /plants/<name>."""
    return [arg.rpartition("/")[2] for arg in attrs["Config"]["Cmd"][3:]]


def stop_servers_out_of_step(engine, prefix: str, members: list[Member]) -> list[str]:
    """Stop the lab's containers that mount another team's folder than the roster now
    gives their user (moved to another team, or out of the roster): a container keeps
    its volumes until it restarts. Containers are found by the user volume they mount
    (`<prefix>-user-<name>`), so nothing that is not the lab's is touched."""
    wanted = {m.username: team_volume(prefix, m.team) if m.team else None for m in members}
    users_of, teams_of = user_volume(prefix, ""), team_volume(prefix, "")
    changes = []
    for container in engine.containers.list(all=True, filters={"name": f"{prefix}-"}):
        volumes = [m.get("Name", "") for m in container.attrs.get("Mounts", [])]
        users = [v.removeprefix(users_of) for v in volumes if v.startswith(users_of)]
        if len(users) != 1 or container.name != f"{prefix}-{users[0]}":
            continue
        user = users[0]
        team = next((v for v in volumes if v.startswith(teams_of)), None)
        if user in wanted and wanted[user] == team:
            continue
        container.remove(force=True)
        why = "left the roster" if user not in wanted else "changed team in the roster"
        changes.append(f"stopped {user}'s server ({why}); it starts with the right folders")
    return changes


def team_environment(team: str, members: list[str], team_dir: str) -> dict[str, str]:
    return {
        "ICSLAB_TEAM": team,
        "ICSLAB_TEAM_MEMBERS": ",".join(members),
        "ICSLAB_TEAM_DIR": team_dir,
    }


@dataclass(frozen=True)
class DockerTeamHook:
    """pre_spawn_hook: mount the user's volume and their team's, and say which team.
    (A dataclass, not a closure, so two configurations of one lab compare equal.)"""

    members: tuple[Member, ...]
    prefix: str
    user_volumes: tuple[tuple[str, str], ...]

    def __call__(self, spawner) -> None:
        team = _team_of(self.members, spawner.user.name)
        volumes = dict(self.user_volumes)
        if team:
            volumes[team_volume(self.prefix, team)] = IMAGE_TEAM_DIR
            environment = team_environment(team, teams(list(self.members))[team], IMAGE_TEAM_DIR)
            spawner.environment = {**spawner.environment, **environment}
        spawner.volumes = volumes


@dataclass(frozen=True)
class LocalTeamHook:
    """pre_spawn_hook: link the team's shared folder into the member's home."""

    members: tuple[Member, ...]
    data_dir: Path

    def __call__(self, spawner) -> None:
        team = _team_of(self.members, spawner.user.name)
        if not team:
            return
        folder = LabPaths(self.data_dir).teams / team
        folder.mkdir(parents=True, exist_ok=True)
        home = Path(spawner.home_dir)
        home.mkdir(parents=True, exist_ok=True)
        link = home / TEAM_FOLDER
        if link.is_symlink() and link.resolve() != folder.resolve():
            link.unlink()  # moved to another team in the roster
        if not link.exists():
            link.symlink_to(folder, target_is_directory=True)
        environment = team_environment(team, teams(list(self.members))[team], str(link))
        spawner.environment = {**spawner.environment, **environment}


def _team_of(members: tuple[Member, ...], username: str) -> str | None:
    return next((m.team for m in members if m.username == username and m.team), None)


def team_roles(members: list[Member]) -> list[dict]:
    """One role per team: its members may open each other's servers (to co-edit with
    jupyter-collaboration), and nobody else's."""
    return [
        {
            "name": f"team-{team}",
            "description": f"Open team {team}'s servers (co-editing)",
            "scopes": [f"access:servers!group={team}", f"read:servers!group={team}"],
            "groups": [team],
        }
        for team in teams(members)
    ]
