"""icslab: a Jupyter workshop environment for ICS security training."""

__version__ = "0.1.0"
