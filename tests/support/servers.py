"""Real servers for the tests, started in temporary folders and stopped at the end: a
PostgreSQL server (Debian's, ``initdb`` into a folder, listening only on a Unix socket there)
and a Dask scheduler with worker processes whose working folders hold no course files."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

POSTGRES_USER = "postgres"  # the system user Debian's package makes; the server refuses root
PORT = 5433


def postgres_binary(name: str) -> str | None:
    """A PostgreSQL server program (initdb, pg_ctl) on PATH or where Debian puts them."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", POSTGRES_USER, "--", *argv] if os.geteuid() == 0 else argv


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server with one database, ``gradebook``; yields its SQLAlchemy
    URL. Everything it wrote is removed when it stops."""
    folder = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))  # a socket path must be short
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, POSTGRES_USER)
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run(
        _as_server_user(
            [
                postgres_binary("initdb"),
                "-D",
                str(data),
                "-U",
                "course",
                "--auth=trust",
                "--no-sync",
            ]
        ),
        **run,
    )
    options = f"-k {folder} -c listen_addresses='' -p {PORT} -c fsync=off"
    subprocess.run(
        _as_server_user(
            [
                postgres_binary("pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / "log"),
                "-w",
                "start",
            ]
        ),
        **run,
    )
    try:
        import psycopg2  # the course's PostgreSQL driver (requirements.txt)

        with contextlib.closing(
            psycopg2.connect(host=str(folder), port=PORT, user="course", dbname="postgres")
        ) as connection:
            connection.autocommit = True
            connection.cursor().execute("CREATE DATABASE gradebook")
        yield f"postgresql+psycopg2://course@/gradebook?host={folder}&port={PORT}"
    finally:
        subprocess.run(
            _as_server_user(
                [postgres_binary("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            ),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


class DaskCluster:
    """A ``dask scheduler`` and ``dask worker`` processes, each in an empty folder of its own,
    speaking mutual TLS with the certificates ``course cluster-certs`` made in ``certs``."""

    def __init__(self, folder: Path, workers: int, env: dict, certs: Path):
        self.folder, self.env, self.certs = folder, env, certs
        folder.mkdir(parents=True, exist_ok=True)
        self.scheduler_file = folder / "scheduler.json"
        dask = str(Path(sys.executable).parent / "dask")
        self.scheduler = self._start(
            "scheduler",
            [
                dask,
                "scheduler",
                "--protocol",
                "tls",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                *self._tls("scheduler"),
                "--scheduler-file",
                str(self.scheduler_file),
            ],
        )
        deadline = time.monotonic() + 60
        while not self.scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.address = json.loads(self.scheduler_file.read_text())["address"]
        self.workers = [
            self._start(
                f"worker{i}",
                [
                    dask,
                    "worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--memory-limit",
                    "0",
                    *self._tls("worker"),
                ],
            )
            for i in range(workers)
        ]

    def _tls(self, role: str) -> list[str]:
        return [
            "--tls-ca-file",
            str(self.certs / "ca.pem"),
            "--tls-cert",
            str(self.certs / f"{role}.pem"),
            "--tls-key",
            str(self.certs / f"{role}-key.pem"),
        ]

    def _start(self, name: str, argv: list[str]) -> subprocess.Popen:
        cwd = self.folder / name
        cwd.mkdir()
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(cwd / "log", "w"),
            start_new_session=True,
        )

    def wait_for_workers(self, count: int, timeout: float = 120) -> None:
        from distributed import Client

        from course.grading.cluster_certs import client_security

        with Client(self.address, timeout=30, security=client_security(self.certs)) as client:
            client.wait_for_workers(count, timeout=timeout)

    def kill_worker(self, index: int) -> None:
        os.killpg(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait()

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
