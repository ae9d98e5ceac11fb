"""Backups of a lab's data dir, their restore, and the state check `icslab up` runs.

    DIR/icslab-backup-<UTC time>/   mode 0700: the data dir's state, modes kept
        manifest.json               every file (mode, size, sha256), folder and link

create.py makes one (staged, then renamed into place: complete or absent), restore.py
puts one into an empty data dir, state.py says which stored part is damaged, tree.py
copies without following links, manifest.py describes and compares.
"""
