"""The grading kernel client: ready as soon as the kernel answers on both channels, and
nothing of the kernel's start is mistaken for the first cell's output."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course.grading.kernels import GradingKernelManager
from tests.support.commands import tool_env


async def _start_and_run(code: str) -> tuple[list[dict], dict]:
    manager = GradingKernelManager(kernel_name="python3")
    await manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        request = client.execute(code)
        reply = await client.get_shell_msg(timeout=30)
        outputs = []
        while True:
            message = await client.get_iopub_msg(timeout=10)
            outputs.append(message)
            if (
                message["msg_type"] == "status"
                and message["content"]["execution_state"] == "idle"
                and message["parent_header"].get("msg_id") == request
            ):
                return outputs, reply
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)


def test_the_first_output_after_ready_is_the_first_request_s_own():
    outputs, reply = asyncio.run(_start_and_run("print('first')"))
    assert reply["content"]["status"] == "ok"
    parents = {m["parent_header"].get("msg_id") for m in outputs}
    assert parents == {reply["parent_header"]["msg_id"]}, "output of the start was left unread"
    assert [m["content"]["text"] for m in outputs if m["msg_type"] == "stream"] == ["first\n"]


def test_a_kernel_that_dies_while_starting_is_reported():
    async def dies() -> None:
        manager = GradingKernelManager(kernel_name="python3")
        manager.prepare_launch = lambda command, kw: ["python3", "-c", "raise SystemExit(3)"]
        await manager.start_kernel()
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    with pytest.raises(RuntimeError, match="died"):
        asyncio.run(dies())


def test_running_a_notebook_warns_about_nothing(tmp_path):
    """`course execute` (and the demo) start kernels over IPC sockets in a private folder:
    ipykernel has no unencrypted TCP port to warn about, and the folder goes with the kernel."""
    notebook = tmp_path / "tiny.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("print(6 * 7)")]), notebook)
    script = (
        "import sys; from pathlib import Path; from course.notebooks import execute_notebook;"
        "execute_notebook(Path(sys.argv[1]), Path(sys.argv[1]))"
    )
    before = set(Path(tempfile.gettempdir()).glob("course-kernel-ipc-*"))
    result = subprocess.run(
        [sys.executable, "-c", script, str(notebook)],
        capture_output=True,
        text=True,
        timeout=120,
        env=tool_env(),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert nbformat.read(notebook, as_version=4).cells[0].outputs[0]["text"] == "42\n"
    assert set(Path(tempfile.gettempdir()).glob("course-kernel-ipc-*")) == before
