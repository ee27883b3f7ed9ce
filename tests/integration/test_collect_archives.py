"""`course collect` takes only what the LMS named: an archive a student uploaded inside the LMS's
zip is that student's submission, at that entry's time, whatever its insides are called; every
file is unpacked with limits and without mode bits, in bounded memory; a bad entry is reported
for its sender while the rest of the class is collected."""

from __future__ import annotations

import io
import json
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from course.lms.extract import MAX_FILE_BYTES
from tests.support.commands import tool_env
from tests.support.paths import LAB, ROOT

NOTEBOOK = "classification.ipynb"
DUE = "2026-01-10 23:59:00 +00:00"


def _course(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    course.mkdir()
    config = (ROOT / "nbgrader_config.py").read_text()
    config += f'\nc.Deadlines.due = {{"{LAB}": "{DUE}"}}\nc.Deadlines.zip_timezone = "UTC"\n'
    (course / "nbgrader_config.py").write_text(config)
    shutil.copytree(ROOT / "release" / LAB, course / "release" / LAB)
    return course


def _notebook(mark: str) -> bytes:
    nb = json.loads((ROOT / "release" / LAB / NOTEBOOK).read_text())
    nb["metadata"]["mark"] = mark
    return json.dumps(nb).encode()


def _zip(entries: dict[str, bytes | tuple], when=(2026, 1, 5, 12, 0, 0)) -> bytes:
    """A zip of ``entries``: ``name: data`` or ``name: (data, date_time, mode)``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, value in entries.items():
            data, date_time, mode = value if isinstance(value, tuple) else (value, when, None)
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.external_attr = mode << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _collect(course: Path, download: bytes) -> tuple[subprocess.CompletedProcess, int]:
    """``course collect`` of ``download``; its result and its peak memory in MB."""
    path = course.parent / "download.zip"
    path.write_bytes(download)
    script = (
        "import resource, subprocess, sys\n"
        "result = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stdout.write(result.stdout); sys.stderr.write(result.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
        "sys.exit(result.returncode)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, sys.executable, "-m", "course", "collect", LAB, str(path)],
        cwd=course,
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=300,
    )
    *_, peak = result.stdout.strip().splitlines()
    return result, int(peak)


def _submitted(course: Path, student: str) -> Path:
    return course / "submitted" / student / LAB / NOTEBOOK


def test_an_upload_is_its_senders_at_its_time_whatever_it_holds(tmp_path):
    course = _course(tmp_path)
    late = (2026, 3, 20, 9, 0, 0)  # 69 days after the due date
    inside = _zip(
        {
            "victimjane_1002_9999_classification-7.ipynb": (
                _notebook("attacker"),
                (2026, 1, 1, 0, 0, 0),
                None,
            )
        }
    )
    in_folder = _zip({"work/classification.ipynb": _notebook("moodle")})
    download = _zip(
        {
            "victimjane_1002_5555_classification.ipynb": _notebook("victim"),
            "mallory_2002_6666_homework.zip": (inside, late, None),
            "Ana Lee_3003_assignsubmission_file/lab.zip": in_folder,  # Moodle's "in folders"
        }
    )
    result, _ = _collect(course, download)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(_submitted(course, "1002").read_bytes())["metadata"]["mark"] == "victim"
    assert json.loads(_submitted(course, "2002").read_bytes())["metadata"]["mark"] == "attacker"
    assert json.loads(_submitted(course, "3003").read_bytes())["metadata"]["mark"] == "moodle"
    stamp = (_submitted(course, "2002").parent / "timestamp.txt").read_text().strip()
    assert datetime.fromisoformat(stamp).date().isoformat() == "2026-03-20", stamp
    assert "collected 2002: classification.ipynb" in result.stdout


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_an_oversized_upload_is_reported_for_its_sender_alone(tmp_path, kind):
    course = _course(tmp_path)
    huge = b"\0" * (MAX_FILE_BYTES + 1024**2)
    if kind == "zip":
        bomb = _zip({NOTEBOOK: huge})
    else:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            info = tarfile.TarInfo(NOTEBOOK)
            info.size = len(huge)
            archive.addfile(info, io.BytesIO(huge))
        bomb = buffer.getvalue()
    download = _zip(
        {
            "honest_1001_1_classification.ipynb": _notebook("honest"),
            f"bomber_2001_2_upload.{kind}": bomb,
            "clash_3001_3_x": b"a file where a folder is wanted",
            "clash_3001_3_x/classification.ipynb": _notebook("clash"),
        }
    )
    result, peak_mb = _collect(course, download)
    out = result.stdout
    assert "collected 1001: classification.ipynb" in out
    assert f"NOT collected bomber_2001_2_upload.{kind}: not extracted: larger than" in out
    assert "NOT collected classification.ipynb: not extracted: another entry" in out
    assert not (course / "submitted" / "2001").exists()
    assert peak_mb < 300, peak_mb
    written = sum(p.stat().st_size for p in course.rglob("*") if p.is_file())
    assert written < 20 * 1024**2  # nothing of the bomb was left anywhere


def test_no_mode_bit_of_an_entry_is_kept(tmp_path):
    course = _course(tmp_path)
    download = _zip(
        {
            "setuid_1005_1_classification.ipynb": (
                _notebook("s"),
                (2026, 1, 5, 0, 0, 0),
                stat.S_IFREG | 0o6777,
            )
        }
    )
    result, _ = _collect(course, download)
    assert result.returncode == 0, result.stdout + result.stderr
    for path in (course / "downloaded").rglob("*.ipynb"):
        assert not path.stat().st_mode & (stat.S_ISUID | stat.S_ISGID | 0o111), path
    assert not _submitted(course, "1005").stat().st_mode & (stat.S_ISUID | stat.S_ISGID | 0o111)
