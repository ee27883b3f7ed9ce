"""The ``course`` command: the instructor's side of the course, on nbgrader's API.

    course release LAB [--check]   generate the student version (or only check it is in sync)
    course execute LAB             re-run the instructor notebooks, storing their outputs
    course demo                    release and execute every lab, printing where outputs are
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course.nbgrader_setup import find_course_root
from course.notebooks import execute_notebook
from course.release import ReleaseError, generate_release, release_differences

EXECUTED_DIR = Path("build") / "executed"


def _labs(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "source").iterdir() if p.is_dir())


def cmd_release(root: Path, args) -> int:
    if args.check:
        differences = release_differences(root, args.lab)
        for line in differences:
            print(line)
        if differences:
            print(f"release/{args.lab} is out of date: run `course release {args.lab}` and commit")
            return 1
        print(f"release/{args.lab} is in sync with source/{args.lab}")
        return 0
    folder = generate_release(root, args.lab)
    print(f"student version of {args.lab}: {folder.relative_to(root)}/")
    return 0


def cmd_execute(root: Path, args) -> int:
    for notebook in sorted((root / "source" / args.lab).glob("*.ipynb")):
        target = notebook if args.inplace else root / EXECUTED_DIR / args.lab / notebook.name
        execute_notebook(notebook, target)
        print(f"executed {notebook.relative_to(root)} -> {target.relative_to(root)}")
    return 0


def cmd_demo(root: Path, args) -> int:
    for lab in _labs(root):
        cmd_release(root, argparse.Namespace(lab=lab, check=False))
        cmd_execute(root, argparse.Namespace(lab=lab, inplace=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", help="generate the student version of a lab")
    release.add_argument("lab")
    release.add_argument("--check", action="store_true",
                         help="only check that the committed release matches the source")
    release.set_defaults(run=cmd_release)

    execute = commands.add_parser("execute", help="run a lab's instructor notebooks")
    execute.add_argument("lab")
    execute.add_argument("--inplace", action="store_true",
                         help="store the outputs in the source notebook itself (for nbval)")
    execute.set_defaults(run=cmd_execute)

    demo = commands.add_parser("demo", help="release and execute every lab")
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    root = find_course_root()
    try:
        return args.run(root, args)
    except ReleaseError as error:
        print(f"course: {error}", file=sys.stderr)
        return 2
