"""Hand-ins: participants hand their work in to the lab; the lab never goes fishing in
their folders.

    store.py    what was handed in, kept by the hub under DATA_DIR/submissions
    accept.py   who hands in, for which team, the size cap (hub side); each feature
                checks its own kind: icslab.homework.accept, icslab.capstone.accept
    client.py   handing in from a participant's server (over HTTP, with its hub token)

The service between them is icslab.hub.handin_service.
"""
