"""A participant's kernel gives the host back the memory it frees (`KERNEL_MEMORY`, in
every server's environment): a room's host holds what kernels use, not what they once did."""

from __future__ import annotations

import os
import subprocess
import sys

from icslab.hub.configure import KERNEL_MEMORY

# Reads a table through Arrow into pandas, as `PlantData.historian()` does, drops it,
# and prints how much more anonymous memory the process holds than before (MiB).
WORKLOAD = """
import numpy as np, pyarrow as pa

def anonymous():
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Anonymous:"):
                return int(line.split()[1]) // 1024

before = anonymous()
table = pa.table({"value": pa.array(np.arange(10_000_000, dtype=np.float64))})  # 80 MB
frame = table.to_pandas()
del table, frame
print(anonymous() - before)
"""


def held_after(environment: dict[str, str]) -> int:
    clean = {k: v for k, v in os.environ.items() if k not in KERNEL_MEMORY}
    result = subprocess.run(
        [sys.executable, "-c", WORKLOAD],
        env={**clean, **environment},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(result.stdout)


def test_a_kernel_with_the_servers_environment_gives_back_a_table_it_dropped():
    kept_by_default = held_after({})
    kept_in_a_server = held_after(KERNEL_MEMORY)
    assert kept_by_default >= 70  # Arrow's own pool keeps the 80 MB it freed
    assert kept_in_a_server <= kept_by_default - 70
