"""The kernel pool: a notebook gets a kernel that is already running, in its own
folder and session, and no spare kernel outlives the server.

These start real python3 kernels (ipykernel from the lab's venv), no server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from icslab.singleuser.kernelpool import PooledKernelManager


async def eventually(condition, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)


async def evaluate(manager: PooledKernelManager, kernel_id: str, expression: str) -> str:
    client = manager.get_kernel(kernel_id).client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=30)
        outputs = []

        def keep(message):
            if message["msg_type"] == "execute_result":
                outputs.append(message["content"]["data"]["text/plain"])

        await client.execute_interactive(expression, timeout=30, output_hook=keep)
        return outputs[-1]
    finally:
        client.stop_channels()


async def a_ready_spare(manager: PooledKernelManager):
    """Start the pool as the server's start hook does; its one spare, once ready."""
    manager.refill_soon(delay=0)
    await eventually(lambda: manager.spare_count == 1, what="a spare kernel")
    return manager._spares[0]


def pid_of(kernel_manager) -> int:
    return kernel_manager.provisioner.process.pid


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1][0] != "Z"


@pytest.fixture
def root(tmp_path):
    (tmp_path / "week1").mkdir()
    return tmp_path


def run(root, scenario, **traits):
    async def main():
        manager = PooledKernelManager(root_dir=str(root), **traits)
        try:
            await scenario(manager)
        finally:
            await manager.shutdown_all(now=True)

    asyncio.run(main())


def test_a_notebook_gets_the_spare_kernel_in_its_own_folder_and_session(root):
    async def scenario(manager):
        spare = await a_ready_spare(manager)
        assert manager.list_kernels() == []  # JupyterLab does not see spares

        notebook = str(root / "week1" / "detect.ipynb")
        kernel_id = await manager.start_kernel(
            path="week1/detect.ipynb",
            kernel_name="python3",
            env={**os.environ, "JPY_SESSION_NAME": notebook},
        )

        assert kernel_id == spare.kernel_id
        assert [k["id"] for k in manager.list_kernels()] == [kernel_id]
        assert manager.spare_count == 0
        where = "import os; [os.getcwd(), __session__, os.environ['JPY_SESSION_NAME']]"
        answer = await evaluate(manager, kernel_id, where)
        assert answer.replace("\n", "").replace(" ", "") == repr(
            [str(root / "week1"), notebook, notebook]
        ).replace(" ", "")
        assert await evaluate(manager, kernel_id, "6*7") == "42"

    run(root, scenario, refill_delay=3600)


def test_a_notebook_opened_while_the_spare_starts_waits_for_it(root):
    """At 9:00 the spare may still be starting: starting a second kernel beside
    it would only slow both down."""

    async def scenario(manager):
        manager.refill_soon(delay=0)
        await eventually(lambda: manager._starting, what="the spare to begin starting")
        starting = next(iter(manager._starting))

        kernel_id = await manager.start_kernel(path="week1/detect.ipynb")

        assert kernel_id == starting.kernel_id
        assert manager.spare_count == 0 and not manager._starting
        assert await evaluate(manager, kernel_id, "6*7") == "42"

    run(root, scenario, refill_delay=3600)


def test_a_restarted_kernel_keeps_the_notebooks_folder(root):
    async def scenario(manager):
        await a_ready_spare(manager)
        kernel_id = await manager.start_kernel(path="week1/detect.ipynb", kernel_name="python3")
        before = pid_of(manager.get_kernel(kernel_id))

        await manager.restart_kernel(kernel_id, now=True)

        assert pid_of(manager.get_kernel(kernel_id)) != before
        assert await evaluate(manager, kernel_id, "import os; os.getcwd()") == repr(
            str(root / "week1")
        )

    run(root, scenario, refill_delay=3600)


def test_the_pool_refills_after_the_delay(root):
    async def scenario(manager):
        await a_ready_spare(manager)
        await manager.start_kernel()
        assert manager.spare_count == 0
        await eventually(lambda: manager.spare_count == 1, what="the pool to refill")

    run(root, scenario, refill_delay=0.2)


def test_a_notebook_never_gets_a_dead_spare(root):
    """Whether the restarter revived the spare first or the pool starts a fresh
    kernel, the notebook gets a kernel that answers, not the killed process."""

    async def scenario(manager):
        killed = pid_of(await a_ready_spare(manager))
        os.kill(killed, signal.SIGKILL)
        await eventually(lambda: not is_running(killed), what="the spare to die")

        kernel_id = await manager.start_kernel(path="week1/detect.ipynb")

        assert pid_of(manager.get_kernel(kernel_id)) != killed
        assert await evaluate(manager, kernel_id, "6*7") == "42"

    run(root, scenario, refill_delay=3600)


def test_other_kernels_and_chosen_ids_are_not_served_from_the_pool(root):
    async def scenario(manager):
        await a_ready_spare(manager)

        chosen = await manager.start_kernel(kernel_id="my-own-id")

        assert chosen == "my-own-id"
        assert manager.spare_count == 1

    run(root, scenario, refill_delay=3600)


def test_shutting_down_the_server_stops_spare_kernels(root):
    pids = []

    async def scenario(manager):
        pids.append(pid_of(await a_ready_spare(manager)))

    run(root, scenario)  # run() shuts the manager down, as the server does on exit

    assert pids and not any(is_running(pid) for pid in pids)


def test_the_pool_size_comes_from_the_labs_settings(root, monkeypatch):
    monkeypatch.setenv("ICSLAB_SPARE_KERNELS", "2")  # set by the hub from limits.spare_kernels
    assert PooledKernelManager(root_dir=str(root)).pool_size == 2
    monkeypatch.delenv("ICSLAB_SPARE_KERNELS")
    assert PooledKernelManager(root_dir=str(root)).pool_size == 1


def test_pool_size_zero_starts_no_spare(root):
    async def scenario(manager):
        manager.refill_soon(delay=0)
        assert manager._refill is None and manager._filling is None  # nothing scheduled
        assert await manager.start_kernel() in {k["id"] for k in manager.list_kernels()}

    run(root, scenario, pool_size=0)
