"""The environment `make` builds is requirements.txt, exactly."""

import importlib.util
import re
from importlib import metadata

from tests.support.paths import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)$")


def pins() -> dict[str, str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return {m[1]: m[2] for line in lines if (m := PIN.match(line.strip()))}


def test_every_pinned_package_is_installed_at_its_pin():
    found = {}
    for name in pins():
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    assert found == pins()


def test_the_optional_iri_checker_is_left_out():
    """rfc3987-syntax would add 2.5 s to every import of nbformat (see requirements.txt)."""
    assert "rfc3987-syntax" not in pins()
    assert importlib.util.find_spec("rfc3987_syntax") is None


def test_every_picture_the_readme_shows_is_committed():
    readme = (ROOT / "README.md").read_text()
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert len(pictures) >= 5  # the lab, a failing test, Validate, the report, the formgrader
    assert [p for p in pictures if not (ROOT / p).is_file()] == []
