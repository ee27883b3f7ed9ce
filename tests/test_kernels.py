"""The grading kernel client: ready as soon as the kernel answers on both channels, and
nothing of the kernel's start is mistaken for the first cell's output."""

from __future__ import annotations

import asyncio

import pytest

from course.kernels import GradingKernelManager


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
            if (message["msg_type"] == "status" and message["content"]["execution_state"] == "idle"
                    and message["parent_header"].get("msg_id") == request):
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
