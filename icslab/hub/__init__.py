"""Everything that turns a validated lab into a running JupyterHub."""

from icslab.hub.configure import configure

__all__ = ["configure"]
