"""What the browser tests share: Debian's Chromium, a real Jupyter server on a free port, and
the screenshots they leave behind.

Playwright cannot download its own browser from these machines, so the tests drive the system
Chromium that ``make`` installs (the Debian package ``chromium``). The server is a real
``jupyter lab`` from this environment, started in a scratch folder with a token of its own and
a home of its own (so no user setting leaks in), and stopped with its kernels at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.support.commands import tool_env
from tests.support.paths import ROOT, SCRIPTS

CHROMIUM = Path("/usr/bin/chromium")
# Headless, as root, on a machine with no network: without the background-networking flags
# Chromium keeps trying to reach Google's services and logs every refusal.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 860}
# Where the tests write their screenshots; `make screenshots` points this at docs/screenshots
# to refresh the committed ones.
SCREENSHOTS = Path(os.environ.get("COURSE_SCREENSHOTS", ROOT / "build" / "screenshots"))

# JupyterLab settings for the tests' own home: no news pop-up over the page, and every cell
# rendered (the default renders only what is on screen, so a cell's text would depend on
# where the page is scrolled).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def free_port() -> int:
    """A TCP port nobody listens on now, on the loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def screenshot(page, name: str, target=None) -> Path:
    """Save ``target`` (a locator; the whole viewport when None) as SCREENSHOTS/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    (target or page).screenshot(path=path)
    return path


class JupyterServer:
    """``jupyter lab`` serving ``folder`` (its working directory too, so nbgrader's server
    extensions read the course configuration there, if any) until the ``with`` block ends.

    ``home``: an empty folder to be the server's HOME (JupyterLab settings, notebook secrets);
    ``environment``: variables set for the server and the kernels it starts.
    """

    def __init__(
        self,
        folder: Path,
        home: Path,
        startup_timeout: float = 90,
        environment: dict[str, str] | None = None,
    ):
        self.folder, self.home, self.startup_timeout = folder, home, startup_timeout
        self.environment = environment or {}
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.process: subprocess.Popen | None = None

    def url(self, path: str) -> str:
        """The address of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def login_url(self, path: str) -> str:
        """:meth:`url` with the token: the first page opened logs the browser in."""
        separator = "&" if "?" in path else "?"
        return f"{self.url(path)}{separator}token={self.token}"

    def __enter__(self) -> JupyterServer:
        self.home.mkdir(parents=True, exist_ok=True)
        settings = self.home / "lab-settings"
        for plugin, values in LAB_SETTINGS.items():
            path = settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self.log_file = self.home / "jupyter-server.log"
        with self.log_file.open("w") as log:  # a file, so a chatty server never blocks on a pipe
            self.process = subprocess.Popen(
                [
                    str(SCRIPTS / "jupyter"),
                    "lab",
                    "--no-browser",
                    "--allow-root",
                    "--ip=127.0.0.1",
                    f"--port={self.port}",
                    "--ServerApp.port_retries=0",
                    f"--IdentityProvider.token={self.token}",
                    f"--ServerApp.root_dir={self.folder}",
                ],
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
                env={
                    **tool_env(),
                    "HOME": str(self.home),
                    "JUPYTERLAB_SETTINGS_DIR": str(settings),
                    **self.environment,
                },
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if "is running at" in self.text():
                return self
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError("jupyter lab did not start:\n" + self.text())

    def __exit__(self, *exc_info) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def text(self) -> str:
        """What the server has logged so far (all of it once the block has ended)."""
        return self.log_file.read_text(errors="replace")
