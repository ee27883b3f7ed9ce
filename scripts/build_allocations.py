"""Build judge_runtime/_allocations.so (the object-allocation counter of the loop check) for the
Python that runs this script: ``python scripts/build_allocations.py``. Needs a C compiler and
the Python headers (the machine's gcc; ``make setup`` runs it)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "judge_runtime" / "_allocations.c"
TARGET = ROOT / "judge_runtime" / "_allocations.so"


def main() -> int:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()
    command = [
        *compiler,
        "-shared",
        "-fPIC",
        "-O2",
        "-Wall",
        "-Werror",
        f"-I{sysconfig.get_paths()['include']}",
        str(SOURCE),
        "-o",
        str(TARGET),
    ]
    try:
        subprocess.run(command, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        print(
            f"could not build {TARGET.name}: {error}. Install a C compiler and the Python "
            "headers (Debian: gcc, python3-dev), then run `make setup` again.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
