"""Live-coding broadcast: participants follow an instructor's notebook, read-only.

An instructor marks a notebook of their own workspace as live (`icslab live
start`); the hub's `icslab-live` service shows it, outputs included, on a follow
page that updates within a second or two of each save, and serves a copy a
participant can take into their own workspace (`icslab live copy`). Participants
never get any right on the instructor's server: the service reads the saved file.
"""
