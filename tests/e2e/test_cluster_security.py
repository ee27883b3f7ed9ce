"""A grading cluster trusts no one by default: ``--scheduler`` speaks mutual TLS (a client
without the course's certificate cannot connect), a plain ``tcp://`` scheduler is refused
unless it is on the loopback and asked for, a local grade's web servers listen on the loopback
only, and nothing a worker returns is written outside the student's folders."""

from __future__ import annotations

import shutil
import socket
import ssl

import psutil
import pytest
from distributed import Client
from distributed.security import Security

from course.grading.cluster_certs import client_security, make_certificates
from course.grading.distributed import grading_client
from course.grading.recorder import returned_names_problem
from tests.support.commands import run_course, tool_env
from tests.support.paths import LAB, ROOT
from tests.support.servers import DaskCluster


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    """A real TLS scheduler (no workers), with the course's certificates and a stranger's."""
    folder = tmp_path_factory.mktemp("tls")
    make_certificates(folder / "certs", [])
    make_certificates(folder / "stranger", [])
    cluster = DaskCluster(folder / "cluster", workers=0, env=tool_env(), certs=folder / "certs")
    try:
        yield cluster, folder
    finally:
        cluster.stop()


def test_only_a_holder_of_the_courses_certificate_reaches_the_scheduler(tls_cluster):
    cluster, folder = tls_cluster
    assert cluster.address.startswith("tls://127.0.0.1:")
    with Client(cluster.address, timeout=20, security=client_security(folder / "certs")) as ok:
        assert ok.scheduler_info()["address"] == cluster.address
    ca, stranger = str(folder / "certs" / "ca.pem"), folder / "stranger"
    strangers_certificate = Security(
        tls_ca_file=ca,
        require_encryption=True,
        tls_client_cert=str(stranger / "client.pem"),
        tls_client_key=str(stranger / "client-key.pem"),
    )
    plain = cluster.address.replace("tls://", "tcp://")
    for address, security in ((plain, None), (cluster.address, strangers_certificate)):
        with pytest.raises((OSError, TimeoutError)):
            Client(address, timeout=3, security=security)
    # TLS that trusts the scheduler but shows no certificate of its own: refused by it
    host, port = plain.removeprefix("tcp://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            with context.wrap_socket(raw) as tls:
                if not tls.recv(1):
                    raise ConnectionError("closed without a word")


def _course(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    return course


@pytest.mark.parametrize(
    ("address", "flags", "says"),
    [
        ("tcp://127.0.0.1:8786", [], "plain tcp:// scheduler"),
        ("10.1.2.3:8786", [], "plain tcp:// scheduler"),
        ("tcp://10.1.2.3:8786", ["--insecure-local-only"], "loopback address only"),
        ("tls://127.0.0.1:8786", ["--certs", "nowhere"], "course cluster-certs nowhere"),
    ],
)
def test_a_scheduler_without_tls_is_refused_saying_what_to_do(tmp_path, address, flags, says):
    result = run_course("grade", LAB, "--scheduler", address, *flags, cwd=_course(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stderr, result.stderr


def test_a_local_grade_listens_on_the_loopback_only():
    with grading_client(None, 2):
        listening = [
            c.laddr.ip
            for c in psutil.Process().net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
    assert listening  # the scheduler's and workers' web servers, here
    assert set(listening) <= {"127.0.0.1", "::1"}, listening


@pytest.mark.parametrize(
    ("result", "says"),
    [
        ({"outcome": {"student": "someone_else"}}, "another student"),
        (
            {"outcome": {"student": "s1"}, "autograded": {"../../gradebook.db": ""}},
            "graded notebooks the lab does not have",
        ),
        ({"outcome": {"student": "s1"}, "feedback": {"/etc/cron.d/x.html": ""}}, "feedback page"),
        ({"outcome": {"student": "s1"}, "feedback": {"../../index.html": ""}}, "feedback page"),
        ({"outcome": {"student": "s1"}, "feedback": {"run.sh": ""}}, "feedback page"),
    ],
)
def test_a_workers_result_naming_files_elsewhere_is_refused(result, says):
    assert says in returned_names_problem(ROOT, LAB, "s1", result)
    fine = {
        "outcome": {"student": "s1"},
        "autograded": {"classification.ipynb": "{}"},
        "feedback": {"classification.html": ""},
    }
    assert returned_names_problem(ROOT, LAB, "s1", fine) is None
