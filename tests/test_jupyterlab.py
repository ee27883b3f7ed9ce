"""The student's JupyterLab: the course has no nbgrader exchange, so the panels that would
list assignments from one are off, and the server starts without complaining about it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest

from tests.conftest import ROOT, SCRIPTS, tool_env

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_exchange_panels_are_off_and_the_server_does_not_look_for_an_exchange(tmp_path):
    labextensions = subprocess.run([str(SCRIPTS / "jupyter"), "labextension", "list"],
                                   capture_output=True, text=True, env=tool_env()).stderr
    disabled = labextensions.split("Disabled extensions:")[-1]
    assert "@jupyter/nbgrader:assignment-list" in disabled
    assert "@jupyter/nbgrader:course-list" in disabled

    home = tmp_path / "home"
    home.mkdir()
    server = subprocess.Popen(
        [str(SCRIPTS / "jupyter"), "lab", "--no-browser", "--allow-root",
         f"--port={_free_port()}", "--IdentityProvider.token=test", f"--notebook-dir={ROOT}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**tool_env(), "HOME": str(home)})
    log = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            log.append(line)
            if "is running at" in line:
                break
        time.sleep(1)  # extensions log as they load, just after
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        log.append(server.communicate(timeout=30)[0])
    text = "".join(log).replace(str(tmp_path), "<scratch>")
    assert "is running at" in text, text
    assert "Unwritable" not in text and "exchange" not in text.lower(), text
    assert "assignment_list" not in text and "course_list" not in text, text
