"""The instructors' room: every self-check verdict recorded by the lab, the room view
that shows who is stuck where, and the notices participants see in JupyterLab
(announcements, the idle culler's warning)."""
