"""Make the hub's groups match the roster before the hub starts.

JupyterHub's `load_groups` only ever adds members, so a participant moved to
another team, or a team removed from the roster, would linger. Before each
start we drop stale memberships and stale roster groups from the hub database;
`load_groups` then adds whatever is missing.
"""

from __future__ import annotations

from pathlib import Path

from jupyterhub import orm

from icslab.hub.configure import ROSTER_GROUP


def prune_groups(database: Path, wanted: dict[str, list[str]]) -> list[str]:
    """Remove memberships and roster groups not in `wanted`; return what changed."""
    if not database.exists():
        return []  # first start: the hub creates everything from load_groups
    session = orm.new_session_factory(f"sqlite:///{database}")()
    changes = []
    try:
        for group in session.query(orm.Group).all():
            if (group.properties or {}).get("icslab") != ROSTER_GROUP["icslab"]:
                continue  # made by hand through the API: not ours to touch
            if group.name not in wanted:
                session.delete(group)
                changes.append(f"removed group {group.name}")
                continue
            keep = set(wanted[group.name])
            for user in [user for user in group.users if user.name not in keep]:
                group.users.remove(user)
                changes.append(f"removed {user.name} from {group.name}")
        session.commit()
    finally:
        session.close()
    return changes
