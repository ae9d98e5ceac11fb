"""The simulated drinking-water works, and the dataset files built from it.

catalog.py (datasets/catalog.toml: which datasets, their attacks) -> simulate.py
(waterworks.py's process and PLC loop, attacks.py, modbus.py's traffic,
historian_export.py) -> build.py (the files of `icslab.formats`, checked against the
catalog's checksums), with datacard.py describing each and draw.py drawing the
capstone's unseen attacks from a lab's secret. `icslab datasets build` runs it.
"""
