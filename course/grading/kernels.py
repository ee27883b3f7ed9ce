"""How ``course grade`` starts the kernels that run students' notebooks."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import cast

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type, default

# Figures are built but never drawn while grading: see judge_runtime/grading_backend.py.
GRADING_BACKEND = "module://judge_runtime.grading_backend"
# One BLAS thread per process: the grading workers already keep every core busy, and BLAS's
# extra threads would only compete with them (and spin while they wait).
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
# No progress bars while grading: how many a cell prints depends on how fast the machine is,
# and a graded notebook, its feedback and its checks must not (tqdm reads TQDM_* settings).
GRADING_ENVIRONMENT = {"MPLBACKEND": GRADING_BACKEND, "TQDM_DISABLE": "1", **SINGLE_THREADED}
# A kernel is student code: a message larger than this is dropped by zmq before it is read,
# and at most RECEIVE_QUEUE messages wait unread, so what one kernel can make the grading
# process hold is bounded (about 64 MB) whatever it sends.
MAX_MESSAGE_BYTES = 4 * 1024**2
RECEIVE_QUEUE = 16


class ReconnectingIOPubChannel(AsyncZMQSocketChannel):
    """The output channel, connected again whenever zmq drops it.

    zmq ends a connection that delivers a message over MAX_MESSAGE_BYTES and, taking it for a
    protocol error, never reconnects: every later output of the notebook would be lost. This
    channel watches its socket for that and connects a fresh one, so only the oversized
    message (and what the kernel sent while it was reconnecting) is lost.
    """

    CHECK_SECONDS = 0.25
    _monitors = itertools.count()

    def __init__(self, socket, session, loop=None):
        super().__init__(socket, session, loop)
        self._watch()

    def _watch(self) -> None:
        address = f"inproc://course-iopub-monitor-{os.getpid()}-{next(self._monitors)}"
        self.socket.monitor(address, zmq.EVENT_DISCONNECTED)
        self._monitor: zmq.Socket = zmq.Context.shadow(self.socket.context.underlying).socket(
            zmq.PAIR
        )
        self._monitor.connect(address)

    def _reconnect_if_dropped(self) -> None:
        if not self._monitor.poll(0):
            return
        while self._monitor.poll(0):
            self._monitor.recv_multipart()
        endpoint = cast(bytes, self.socket.getsockopt(zmq.LAST_ENDPOINT))
        self.socket.disable_monitor()
        self._monitor.close(linger=0)
        self.socket.close(linger=0)
        self.socket = self.socket.context.socket(zmq.SUB)
        self.socket.linger = 1000
        self.socket.setsockopt(zmq.SUBSCRIBE, b"")
        self.socket.connect(endpoint.decode())
        self._watch()

    async def get_msg(  # type: ignore[override]  # async, as AsyncZMQSocketChannel's is
        self, timeout: float | None = None
    ) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = self.CHECK_SECONDS if deadline is None else deadline - time.monotonic()
            try:
                return await super().get_msg(timeout=max(0.0, min(self.CHECK_SECONDS, left)))
            except Empty:
                self._reconnect_if_dropped()
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    def close(self) -> None:
        if self.socket is not None and not self.socket.closed:
            self.socket.disable_monitor()
        self._monitor.close(linger=0)
        super().close()

    stop = close


class BoundedKernelClient(AsyncKernelClient):
    """A kernel client whose sockets drop messages over MAX_MESSAGE_BYTES and queue at most
    RECEIVE_QUEUE unread ones; its output channel reconnects after such a drop."""

    iopub_channel_class = Type(ReconnectingIOPubChannel)
    READY_CHECK_SECONDS = 1.0  # for a reply to a kernel_info request (the kernel may be starting)
    IOPUB_CHECK_SECONDS = 0.2  # for its "idle" on the output channel, then ask again

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Return once the kernel answers on both channels, as jupyter_client's does, but
        without its closing 0.2 s of silence on the output channel: the kernel's "idle" status
        for our own request says the channel is connected and nothing of the start is left
        to read (later strays are ignored by nbclient anyway, as not about its requests)."""
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        requests: set[str] = set()  # an "idle" after any of them will do, however late
        while True:
            requests.add(self.kernel_info())
            try:
                reply = await self.shell_channel.get_msg(timeout=self.READY_CHECK_SECONDS)
            except Empty:
                reply = None
            if (
                reply is not None
                and reply["msg_type"] == "kernel_info_reply"
                and await self._idle_after(requests)
            ):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    async def _idle_after(self, requests: set[str]) -> bool:
        """True once the output channel says the kernel went idle after one of ``requests``;
        False when it says nothing of them within IOPUB_CHECK_SECONDS (not connected yet: the
        status was published before this subscriber joined)."""
        deadline = time.monotonic() + self.IOPUB_CHECK_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await self.iopub_channel.get_msg(timeout=left)
            except Empty:
                return False
            if (
                message["msg_type"] == "status"
                and message["content"].get("execution_state") == "idle"
                and message["parent_header"].get("msg_id") in requests
            ):
                return True
        return False

    @default("context")
    def _bounded_context(self) -> zmq.asyncio.Context:
        self._created_context = True
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)  # defaults for its sockets
        context.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
        return context


class LocalKernelManager(AsyncKernelManager):
    """A kernel reached over IPC sockets in a folder of its own, removed with the kernel: no
    TCP port another local user could connect to (and no ipykernel warning about one)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._runtime = self.make_runtime_folder()
        self.transport = "ipc"
        self.connection_file = str(self._runtime / "kernel.json")
        self.ip = str(self._runtime / "kernel-ipc")

    def make_runtime_folder(self) -> Path:
        """A new, empty folder for the kernel's connection file and sockets."""
        return Path(tempfile.mkdtemp(prefix="course-kernel-ipc-"))

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._runtime, ignore_errors=True)


class GradingKernelManager(LocalKernelManager):
    """A kernel manager whose kernels build figures without drawing them and use one BLAS
    thread (see GRADING_ENVIRONMENT), talked to by a BoundedKernelClient."""

    client_class = DottedObjectName("course.grading.kernels.BoundedKernelClient")

    @default("client_factory")
    def _bounded_client_factory(self) -> type:
        return BoundedKernelClient

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        kw["env"] = {**(kw.get("env") or os.environ), **GRADING_ENVIRONMENT}
        await super()._async_launch_kernel(self.prepare_launch(kernel_cmd, kw), **kw)

    def prepare_launch(self, kernel_cmd: list[str], kw: dict) -> list[str]:
        """The command that starts the kernel, given nbgrader's and its launch arguments
        (``kw["env"]`` already holds the grading environment). As it is, here."""
        return kernel_cmd

    async def _async_wait(self, pollinterval: float = 0.01) -> None:
        # jupyter_client checks every 0.1 s whether a killed kernel has ended: a tenth of a
        # second lost per student; a killed process ends within milliseconds.
        await super()._async_wait(pollinterval)
