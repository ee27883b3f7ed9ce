"""Certificates for grading on a Dask cluster over mutual TLS (``course cluster-certs``).

A Dask scheduler runs whatever its clients send, as whoever runs its workers; on a plain
``tcp://`` address anyone who can reach it is a client. Over TLS with client certificates, only
holders of a certificate signed by the course's own authority can connect: the scheduler, its
workers and ``course grade`` each get one. Made with the ``openssl`` command (Debian's
``openssl`` package).

Files written to the folder: ``ca.pem`` (the authority, which all three trust),
``scheduler.pem``/``scheduler-key.pem``, ``worker.pem``/``worker-key.pem``,
``client.pem``/``client-key.pem``. The authority's own key is not kept: no certificate can be
added later without making a new set.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlparse

ROLES = ("scheduler", "worker", "client")
CLIENT_FILES = ("ca.pem", "client.pem", "client-key.pem")
DAYS = 365
KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")  # P-256: quick to make


def _openssl(*args: str, cwd: Path) -> None:
    if shutil.which("openssl") is None:
        raise FileNotFoundError(
            "the openssl command is missing: install Debian's openssl package (make setup does)"
        )
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise ValueError(f"openssl {args[0]} failed: {result.stderr.strip()[-500:]}")


def make_certificates(folder: Path, hosts: list[str], days: int = DAYS) -> list[Path]:
    """Write a new authority and a certificate for each of :data:`ROLES` to ``folder`` (which
    must not hold certificates yet), valid ``days`` days for ``hosts`` (names or addresses,
    besides localhost); return the files written. Keys are readable by their owner only."""
    folder = Path(folder)
    if any((folder / f"{role}.pem").exists() for role in (*ROLES, "ca")):
        raise ValueError(
            f"{folder} already holds certificates: make a new set in an empty "
            "folder (the old ones stay valid until they expire)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    names = ["DNS:localhost", "IP:127.0.0.1"]
    for host in hosts:
        try:
            names.append(f"IP:{ipaddress.ip_address(host)}")
        except ValueError:
            names.append(f"DNS:{host}")
    written = []
    old_umask = os.umask(0o077)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            _openssl(
                "req",
                "-x509",
                *KEY,
                "-nodes",
                "-keyout",
                "ca-key.pem",
                "-out",
                "ca.pem",
                "-days",
                str(days),
                "-subj",
                "/CN=course grading CA",
                cwd=work,
            )
            (work / "extensions").write_text(f"subjectAltName={','.join(names)}\n")
            for role in ROLES:
                _openssl(
                    "req",
                    *KEY,
                    "-nodes",
                    "-keyout",
                    f"{role}-key.pem",
                    "-out",
                    f"{role}.csr",
                    "-subj",
                    f"/CN=course grading {role}",
                    cwd=work,
                )
                _openssl(
                    "x509",
                    "-req",
                    "-in",
                    f"{role}.csr",
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca-key.pem",
                    "-CAcreateserial",
                    "-out",
                    f"{role}.pem",
                    "-days",
                    str(days),
                    "-extfile",
                    "extensions",
                    cwd=work,
                )
            for name in ("ca.pem", *(f"{r}{s}.pem" for r in ROLES for s in ("", "-key"))):
                shutil.copy(work / name, folder / name)
                written.append(folder / name)
    finally:
        os.umask(old_umask)
    for path in written:
        path.chmod(0o600 if path.name.endswith("-key.pem") else 0o644)
    return written


def client_security(folder: Path):
    """Dask's security settings for ``course grade`` from the certificates in ``folder``
    (encryption required); ValueError naming a missing file and how to make it."""
    from distributed.security import Security  # Dask: imported when grading on a cluster

    missing = [name for name in CLIENT_FILES if not (Path(folder) / name).is_file()]
    if missing:
        raise ValueError(
            f"{', '.join(missing)} missing from {folder}: make the cluster's "
            f"certificates with `course cluster-certs {folder}` (docs/cluster.md) "
            "or pass --certs FOLDER"
        )
    return Security(
        tls_ca_file=str(Path(folder) / "ca.pem"),
        tls_client_cert=str(Path(folder) / "client.pem"),
        tls_client_key=str(Path(folder) / "client-key.pem"),
        require_encryption=True,
    )


def scheduler_problem(address: str, insecure_local_only: bool) -> str | None:
    """Why ``course grade`` will not send students to the scheduler at ``address``, or None:
    only ``tls://``, or, with ``insecure_local_only``, a ``tcp://`` address on the loopback."""
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    if parsed.scheme == "tls":
        return None
    if parsed.scheme != "tcp":
        return f"{address}: a scheduler's address starts tls:// (or tcp://)"
    try:
        loopback = ipaddress.ip_address(parsed.hostname or "").is_loopback
    except ValueError:
        loopback = parsed.hostname == "localhost"
    if not insecure_local_only:
        return (
            f"{address} is a plain tcp:// scheduler: anyone who can reach it runs code on "
            "its workers. Use TLS with client certificates (`course cluster-certs`, then "
            "a tls:// address with --certs), or, for a scheduler on this machine only, "
            "--insecure-local-only"
        )
    if not loopback:
        return (
            f"--insecure-local-only allows a loopback address only (127.0.0.1, ::1), "
            f"not {parsed.hostname}: use TLS for another machine"
        )
    return None
