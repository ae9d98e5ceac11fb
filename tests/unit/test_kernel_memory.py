"""A participant's kernel gives the host back the memory it frees (`KERNEL_MEMORY`, in
every server's environment, and the `trim` extension, in the image's IPython
configuration): a room's host holds what kernels use, not what they once did."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from jupyter_client.manager import start_new_kernel

from icslab.hub.configure import KERNEL_MEMORY
from icslab.singleuser import IPYTHON_CONFIG
from icslab.testing.machine import anonymous

# Reads a table through Arrow into pandas, as `PlantData.historian()` does, drops it,
# and prints how much more anonymous memory the process holds than before (MiB).
WORKLOAD = """
import numpy as np, pyarrow as pa
from icslab.testing.machine import anonymous

before = anonymous()
table = pa.table({"value": pa.array(np.arange(10_000_000, dtype=np.float64))})  # 80 MB
frame = table.to_pandas()
del table, frame
print((anonymous() - before) // 2**20)
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


# np.unique of 600,000 numbers builds a hash table of small blocks in the C library's
# heap: freed, they stay reserved for the process unless it trims its heap.
CHURN = """
import numpy as np
numbers = np.random.default_rng(0).integers(0, 10**12, 600_000)
for _ in range(3):
    np.unique(numbers)
del numbers
"""


def kernel_growth(ipython_dir: Path) -> int:
    """MiB of anonymous memory a python3 kernel, configured from `ipython_dir`, holds
    more after a cell of CHURN than before it."""
    env = {**os.environ, **KERNEL_MEMORY, "IPYTHONDIR": str(ipython_dir)}
    manager, client = start_new_kernel(kernel_name="python3", env=env, startup_timeout=60)
    try:
        pid = manager.provisioner.process.pid
        client.execute_interactive("import numpy", timeout=60)
        before = anonymous_mib(pid)
        reply = client.execute_interactive(CHURN, timeout=120)
        assert reply["content"]["status"] == "ok"
        return anonymous_mib(pid) - before
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def anonymous_mib(pid: int) -> int:
    return anonymous(pid) // 2**20


def test_a_participants_kernel_gives_back_the_heap_a_cell_freed(tmp_path):
    configured = tmp_path / "participant" / "profile_default"
    configured.mkdir(parents=True)
    shutil.copy(IPYTHON_CONFIG / "ipython_kernel_config.py", configured)
    (tmp_path / "plain").mkdir()

    kept_by_a_plain_kernel = kernel_growth(tmp_path / "plain")
    kept_by_a_participants = kernel_growth(tmp_path / "participant")
    assert kept_by_a_plain_kernel >= 15
    assert kept_by_a_participants <= kept_by_a_plain_kernel - 15
