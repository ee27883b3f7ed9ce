"""The student's JupyterLab: the course has no nbgrader exchange, so the panels that would
list assignments from one are off, and the server starts without complaining about it."""

from __future__ import annotations

import subprocess
import time

from tests.support.browser import JupyterServer
from tests.support.commands import tool_env
from tests.support.paths import ROOT, SCRIPTS


def test_the_exchange_panels_are_off_and_the_server_does_not_look_for_an_exchange(tmp_path):
    labextensions = subprocess.run(
        [str(SCRIPTS / "jupyter"), "labextension", "list"],
        capture_output=True,
        text=True,
        env=tool_env(),
    ).stderr
    disabled = labextensions.split("Disabled extensions:")[-1]
    assert "@jupyter/nbgrader:assignment-list" in disabled
    assert "@jupyter/nbgrader:course-list" in disabled

    with JupyterServer(ROOT, tmp_path / "home") as server:
        time.sleep(1)  # extensions log as they load, just after
    text = server.text().replace(str(tmp_path), "<scratch>")
    assert "is running at" in text, text
    assert "Unwritable" not in text and "exchange" not in text.lower(), text
    assert "assignment_list" not in text and "course_list" not in text, text
