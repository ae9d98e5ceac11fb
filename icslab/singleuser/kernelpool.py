"""A pool of started kernels, so that opening a notebook does not wait for one.

A python3 kernel costs about a second of CPU to start in a participant's
container. At 9:00, twenty participants opening their first notebook at once
wait for twenty kernel starts on two cores. `PooledKernelManager` starts
`pool_size` kernels as soon as the server runs (so `icslab warm` warms kernels
too), hands one out on the next request for the default kernel, and starts its
replacement `refill_delay` seconds later, once the rush is over.

A handed-out kernel is first moved to the notebook's folder and given the
notebook's session name, as a fresh kernel would have; restarts keep both.
Only the default kernel is pooled, and only for requests that name no
kernel_id; anything else starts a kernel as jupyter_server does. Spare kernels
are not listed in /api/kernels and do not count as activity, so they neither
show up in JupyterLab nor keep an idle server from being culled.

Enabled as a server extension (the participant server config does): linking
it makes the pool the server's kernel manager, and its start hook fills it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from jupyter_core.utils import ensure_async
from jupyter_server._tz import utcnow
from jupyter_server.prometheus.metrics import KERNEL_CURRENTLY_RUNNING_TOTAL
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Float, Integer, default

# The kwargs jupyter_server passes when it starts a kernel for a notebook or the API.
_HANDLED_KWARGS = {"kernel_name", "env"}


def _jupyter_server_extension_points():
    return [{"module": "icslab.singleuser.kernelpool"}]


def _link_jupyter_server_extension(serverapp) -> None:
    # Linking comes before the server makes its kernel manager: the pool takes its
    # place, unless the site configured a kernel manager of its own.
    if "kernel_manager_class" not in serverapp.config.ServerApp:
        serverapp.kernel_manager_class = PooledKernelManager


def _load_jupyter_server_extension(serverapp) -> None:
    pass  # the pool starts with the event loop, in the start hook below


async def _start_jupyter_server_extension(serverapp) -> None:
    manager = serverapp.kernel_manager
    if isinstance(manager, PooledKernelManager):
        manager.refill_soon(delay=0)


class PooledKernelManager(AsyncMappingKernelManager):
    pool_size = Integer(
        config=True,
        help="Started kernels of the default kernel kept ready (0: no pool). Default: "
        "$ICSLAB_SPARE_KERNELS, which the hub sets from lab.toml's limits.spare_kernels.",
    )
    refill_delay = Float(
        30.0,
        config=True,
        help="Seconds after a spare kernel is handed out before its replacement starts "
        "(later than the rush of first notebooks, when CPU is scarce).",
    )
    ready_timeout = Float(60.0, config=True, help="Seconds a spare kernel may take to answer.")

    @default("pool_size")
    def _pool_size_of_the_lab(self) -> int:
        return int(os.environ.get("ICSLAB_SPARE_KERNELS", "1"))

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._spares: list = []  # started kernel managers that answered kernel_info
        self._starting: set = set()  # being started by _fill: shut down with the rest
        self._pool_changed = asyncio.Condition()
        self._filling: asyncio.Task | None = None
        self._refill: asyncio.TimerHandle | None = None
        self._closed = False

    @property
    def spare_count(self) -> int:
        return len(self._spares)

    # -- filling ---------------------------------------------------------------

    def refill_soon(self, delay: float | None = None) -> None:
        """Top the pool up after `delay` seconds (refill_delay by default)."""
        if self._closed or self.pool_size <= 0 or self._refill is not None:
            return
        loop = asyncio.get_running_loop()
        self._refill = loop.call_later(
            self.refill_delay if delay is None else delay, self._begin_filling
        )

    def _begin_filling(self) -> None:
        self._refill = None
        if self._filling is None or self._filling.done():
            self._filling = asyncio.create_task(self._fill())

    async def _fill(self) -> None:
        while not self._closed and len(self._spares) < self.pool_size:
            kwargs = self._kernel_start_kwargs(cwd=self.root_dir, env=dict(os.environ))
            spare, _, kwargs["kernel_id"] = self.pre_start_kernel(self.default_kernel_name, kwargs)
            self._starting.add(spare)
            try:
                await self._start_spare(spare, kwargs)
                if self._closed:
                    await ensure_async(spare.shutdown_kernel(now=True))
                    return
                self._spares.append(spare)
                self.log.info("[icslab] spare kernel %s ready", spare.kernel_id)
            except Exception:
                self.log.exception("[icslab] could not start a spare kernel; the pool stays short")
                return
            finally:
                self._starting.discard(spare)
                async with self._pool_changed:
                    self._pool_changed.notify_all()

    async def _start_spare(self, spare, kwargs: dict) -> None:
        try:
            await spare.start_kernel(**kwargs)
            client = spare.client()
            client.start_channels()
            try:
                await client.wait_for_ready(timeout=self.ready_timeout)
            finally:
                client.stop_channels()
        except Exception:
            await ensure_async(spare.shutdown_kernel(now=True))
            raise

    # -- handing out -----------------------------------------------------------

    async def _async_start_kernel(self, *, kernel_id=None, path=None, **kwargs) -> str:
        wants_default = kwargs.get("kernel_name") in (None, self.default_kernel_name)
        if kernel_id is None and wants_default and set(kwargs) <= _HANDLED_KWARGS:
            while spare := await self._take_spare():
                self.refill_soon()
                try:
                    return await self._hand_out(spare, path, kwargs.get("env") or {})
                except Exception as error:
                    self.log.warning("[icslab] spare kernel unusable (%s); trying the next", error)
                    await ensure_async(spare.shutdown_kernel(now=True))
        return await super()._async_start_kernel(kernel_id=kernel_id, path=path, **kwargs)

    # The async manager's pattern (jupyter_server's own does the same, with the same
    # ignore): jupyter_client types these methods as the sync wrappers it also offers.
    start_kernel = _async_start_kernel  # type: ignore[assignment]

    async def _take_spare(self):
        """A ready spare kernel, or None. One still starting is waited for: starting
        another kernel beside it would only slow both down."""
        if not self._spares and self._starting:
            async with self._pool_changed:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.ready_timeout):
                        await self._pool_changed.wait_for(
                            lambda: self._spares or not self._starting
                        )
        return self._spares.pop(0) if self._spares else None

    async def _hand_out(self, spare, path, env: dict) -> str:
        if not await ensure_async(spare.is_alive()):
            raise RuntimeError("it exited")
        cwd = self.cwd_for_path(path) if path is not None else self.root_dir
        changed = {k: v for k, v in env.items() if os.environ.get(k) != v}
        await self._run_silently(spare, _settle_code(cwd, changed))
        # A restart relaunches with _launch_args: keep the notebook's folder and session.
        spare._launch_args["cwd"] = cwd
        spare.update_env(env=changed)

        kernel_id = spare.kernel_id
        self._kernels[kernel_id] = spare
        self._kernel_connections[kernel_id] = 0
        spare.execution_state = "idle"
        spare.reason = ""
        spare.last_activity = utcnow()
        await self._finish_kernel_start(kernel_id)
        KERNEL_CURRENTLY_RUNNING_TOTAL.labels(type=spare.kernel_name).inc()
        if not self._initialized_culler:
            self.initialize_culler()
        self.log.info("[icslab] handed out spare kernel %s (cwd %s)", kernel_id, cwd)
        return kernel_id

    async def _run_silently(self, spare, code: str) -> None:
        # The shell reply is enough; a new iopub subscription might miss early messages.
        client = spare.client()
        client.start_channels(iopub=False, stdin=False, hb=False, control=False)
        try:
            msg_id = client.execute(code, silent=True, store_history=False)
            while (reply := await client.get_shell_msg(timeout=self.ready_timeout))[
                "parent_header"
            ].get("msg_id") != msg_id:
                pass
        finally:
            client.stop_channels()
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"settling it failed: {reply['content'].get('evalue', '')}")

    # -- shutting down -----------------------------------------------------------

    async def _async_shutdown_all(self, now: bool = False) -> None:
        self._closed = True
        if self._refill is not None:
            self._refill.cancel()
        if self._filling is not None and not self._filling.done():
            self._filling.cancel()
        spares, self._spares = [*self._spares, *self._starting], []
        await asyncio.gather(
            *(ensure_async(spare.shutdown_kernel(now=now)) for spare in spares),
            return_exceptions=True,
        )
        await super()._async_shutdown_all(now=now)

    shutdown_all = _async_shutdown_all  # type: ignore[assignment]


def _settle_code(cwd: str, env: dict[str, str]) -> str:
    """Code that makes a spare kernel look started for this notebook."""
    lines = ["import os as _icslab_os", f"_icslab_os.chdir({cwd!r})"]
    if env:
        lines.append(f"_icslab_os.environ.update({env!r})")
    if "JPY_SESSION_NAME" in env:  # what ipykernel sets at start from the same variable
        lines.append(f"__session__ = {env['JPY_SESSION_NAME']!r}")
    lines.append("del _icslab_os")
    return "\n".join(lines)
