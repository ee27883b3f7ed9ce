"""Judge the instructor's solution of a lab on the hidden cases of many random students (random
case keys, course.case_keys): every student's draw must give the solution full marks, or some
student would lose points to an unlucky draw. Run after editing a lab's hidden cases:

    .venv/bin/python scripts/check_case_draws.py lab3 --students 100
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course.judge.verdicts import solution_draw_problems  # noqa: E402
from course.layout import source  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lab")
    parser.add_argument("--students", type=int, default=50, help="random case keys to try")
    args = parser.parse_args(argv)
    failed = 0
    for notebook in sorted(source(ROOT, args.lab).glob("*.ipynb")):
        for number in range(args.students):
            key = secrets.token_hex(32)
            if problems := solution_draw_problems(notebook.resolve(), key):
                failed += 1
                print(f"{notebook.name}, case key {key}: " + "; ".join(problems))
            print(f"{number + 1}/{args.students}", end="\r", file=sys.stderr)
    print(f"{args.lab}: the solution failed on {failed} of {args.students} students' draws")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
