"""The ``course`` command: the instructor's side of the course, on nbgrader's API.

    course release LAB [--check]          generate the student version (or check it is in sync)
    course execute LAB [--inplace]        re-run the instructor notebooks, storing outputs
    course collect LAB PATH [--replace]   bring in submissions from a folder or an LMS zip
    course grade LAB [--workers N] [--force]
                                          autograde everyone, then feedback and grades CSV
    course grade LAB --diff | --apply-diff
                                          what a regrade with a changed judge would change
                                          (nothing written), then write it
    course grade LAB --scheduler tls://HOST:8786 [--certs FOLDER]
                                          the same, on a Dask cluster (mutual TLS)
    course cluster-certs FOLDER [--host H]
                                          certificates for the cluster's scheduler, workers
                                          and course grade
    course report LAB                     per-test table, totals histogram, who needs attention
    course extend LAB STUDENT (--days N | --until DATE | --clear)
                                          a later due date for one student; the late
                                          penalty follows at once (--list: everyone's)
    course audit LAB [--n N] [--pipeline K]
                                          check the grader on submissions derived from the
                                          lab's solution (rewrites, one-step mutants)
    course init-secret                    the course secret each student's hidden cases
                                          are drawn from (kept outside the course)
    course cases LAB STUDENT [--json]     the hidden cases that student is judged on
    course demo                           the whole path on a synthetic cohort

Exit status: 0 when all is well; 1 when some file or student needs the instructor's attention;
2 when the command could not run.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback

from course.commands import (
    DEMO_STUDENT_CPU_SECONDS,
    cmd_audit,
    cmd_cases,
    cmd_cluster_certs,
    cmd_collect,
    cmd_demo,
    cmd_execute,
    cmd_export,
    cmd_extend,
    cmd_grade,
    cmd_init_secret,
    cmd_release,
    cmd_report,
)
from course.grading.canary import CanaryFailed
from course.grading.cluster_certs import DAYS
from course.nbgrader_setup import find_course_root
from course.release import ReleaseError
from course.sandbox.errors import SandboxUnavailable
from course.text import PrintableStream


class _HelpAll(argparse.Action):
    """``--help-all``: every setting, with its default and help (course.settings)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(
            option_strings,
            dest,
            nargs=0,
            default=argparse.SUPPRESS,
            help="list every setting nbgrader_config.py can give, and exit",
        )

    def __call__(self, parser, namespace, values, option_string=None):
        from course.settings import help_all

        print(help_all(), end="")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course",
        description="Instructor tooling for the course, over nbgrader.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--help-all", action=_HelpAll)
    commands = parser.add_subparsers(dest="command", required=True)
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument(
        "--verbose",
        action="store_true",
        help="show what each student's grading wrote (nbgrader's log, the "
        "kernel's and the judge's stderr) as it arrives",
    )
    shared.add_argument(
        "--debug", action="store_true", help="--verbose, and the full traceback of an error"
    )

    def add_command(name: str, **kwargs) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[shared], **kwargs)

    release = add_command("release", help="generate the student version of a lab")
    release.add_argument("lab")
    release.add_argument(
        "--check",
        action="store_true",
        help="only check that the committed release matches the source",
    )
    release.set_defaults(run=cmd_release)

    execute = add_command("execute", help="run a lab's instructor notebooks")
    execute.add_argument("lab")
    execute.add_argument(
        "--inplace",
        action="store_true",
        help="store the outputs in the source notebook itself (for nbval)",
    )
    execute.set_defaults(run=cmd_execute)

    collect_ = add_command("collect", help="bring in submissions (folder or LMS zip)")
    collect_.add_argument("lab")
    collect_.add_argument("path", help="a folder of notebooks or a Canvas/Moodle zip")
    collect_.add_argument(
        "--replace",
        action="store_true",
        help="overwrite submissions already collected with other contents",
    )
    collect_.set_defaults(run=cmd_collect)

    timeout_help = (
        "CPU seconds one student's grading may use: their kernel, the judge and "
        "the grading process, with a wall-clock backstop five times it "
        "(default: c.Grading.student_cpu_seconds, see --help-all)"
    )
    grade = add_command("grade", help="autograde every submitted student")
    grade.add_argument("lab")
    grade.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parallel grading processes (default: c.Grading.workers; 0 or "
        "unset: the machine's cores)",
    )
    grade.add_argument("--force", action="store_true", help="regrade students already graded")
    regrade = grade.add_mutually_exclusive_group()
    regrade.add_argument(
        "--diff",
        action="store_true",
        help="grade those graded with an older version of the judge (with --force: everyone) "
        "in a scratch gradebook and show what would change; nothing is written",
    )
    regrade.add_argument(
        "--apply-diff", action="store_true", help="write what the last --diff showed"
    )
    grade.add_argument("--student-timeout", type=float, default=None, help=timeout_help)
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    grade.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="grade on the Dask cluster of this scheduler (tls://host:8786) "
        "instead of worker processes started here",
    )
    grade.add_argument(
        "--certs",
        default=None,
        metavar="FOLDER",
        help="the client certificates for a tls:// scheduler (default: "
        "cluster-certs/ in the course; see `course cluster-certs`)",
    )
    grade.add_argument(
        "--insecure-local-only",
        action="store_true",
        help="allow a plain tcp:// scheduler on this machine's loopback",
    )
    grade.add_argument(
        "--unbounded",
        action="store_true",
        help="grade even where a student's processes cannot get control groups "
        "of their own (per-process rlimits only)",
    )
    grade.add_argument(
        "--no-sandbox",
        action="store_true",
        help="trusted run: no sandbox and no clean-room re-check (only for submissions you trust)",
    )
    grade.set_defaults(run=cmd_grade)

    export = add_command(
        "export", help="grades as the LMS imports them, and the feedback zip it hands out"
    )
    export.add_argument("lab")
    export.add_argument("--lms", choices=("canvas", "moodle"), required=True)
    export.add_argument(
        "--roster",
        required=True,
        help="the LMS's own export (Canvas: gradebook CSV; Moodle: grades CSV)",
    )
    export.add_argument(
        "--column",
        default=None,
        help="the LMS's column for the lab (default: the roster's column "
        "named after the lab, else the lab's name)",
    )
    export.add_argument("--per-step", action="store_true", help="a column per test as well")
    export.add_argument(
        "--output",
        default=None,
        help="default: reports/LAB/<lms>-import.csv (the zip goes beside it)",
    )
    export.set_defaults(run=cmd_export)

    report = add_command("report", help="summarise a graded lab")
    report.add_argument("lab")
    report.add_argument(
        "--past",
        default=None,
        metavar="FOLDER",
        help="also compare the students' code with past cohorts' notebooks",
    )
    report.set_defaults(run=cmd_report)

    extend = add_command(
        "extend", help="give one student a later due date (their late penalty follows it)"
    )
    extend.add_argument("lab")
    extend.add_argument("student", nargs="?", help="the student's id (none with --list)")
    how = extend.add_mutually_exclusive_group(required=True)
    how.add_argument(
        "--days",
        type=float,
        metavar="N",
        help="extend the lab's due date by N days, fractions allowed (0: remove the extension)",
    )
    how.add_argument(
        "--until",
        metavar="DATE",
        help="the student's due date, with its UTC offset, as in c.Deadlines.due "
        "('2026-10-20 23:59 +01:00')",
    )
    how.add_argument("--clear", action="store_true", help="remove the student's extension")
    how.add_argument(
        "--list", action="store_true", help="every student's extension and their due date"
    )
    extend.set_defaults(run=cmd_extend)

    certs = add_command("cluster-certs", help="certificates for grading on a Dask cluster over TLS")
    certs.add_argument("folder", help="an empty folder to write them to")
    certs.add_argument(
        "--host",
        action="append",
        default=[],
        help="a name or address the scheduler is reached at (repeatable)",
    )
    certs.add_argument("--days", type=int, default=DAYS, help="how long they are valid")
    certs.set_defaults(run=cmd_cluster_certs)

    audit = add_command(
        "audit", help="check the grader on submissions derived from a lab's solution"
    )
    audit.add_argument("lab")
    audit.add_argument(
        "--n",
        type=int,
        default=None,
        help="judge this many derived submissions, drawn at random (default: all)",
    )
    audit.add_argument("--seed", type=int, default=0, help="for the draw")
    audit.add_argument("--workers", type=int, default=2, help="parallel judging processes")
    audit.add_argument(
        "--pipeline",
        type=int,
        default=6,
        metavar="K",
        help="also grade K of them through `course grade` in a scratch course (default 6; 0: none)",
    )
    audit.set_defaults(run=cmd_audit)

    secret = add_command(
        "init-secret",
        help="make the course secret every student's hidden cases are drawn from",
    )
    secret.set_defaults(run=cmd_init_secret)

    cases = add_command("cases", help="the hidden cases one student is judged on")
    cases.add_argument("lab")
    cases.add_argument("student")
    cases.add_argument("--json", action="store_true", help="exact numbers, as JSON")
    cases.set_defaults(run=cmd_cases)

    demo = add_command("demo", help="the whole path on a synthetic cohort")
    demo.add_argument("--workers", type=int, default=None)
    demo.add_argument(
        "--student-timeout",
        type=float,
        default=DEMO_STUDENT_CPU_SECONDS,
        help="CPU seconds one student's grading may use in the demo (the judge's "
        f"budgets are lowered to it; default {DEMO_STUDENT_CPU_SECONDS:g}: "
        "its looping students are stopped sooner than a course's would be)",
    )
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    # whatever a command prints may quote a student's text: no escape sequence reaches the
    # instructor's terminal (course.text)
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = PrintableStream(sys.stdout), PrintableStream(sys.stderr)
    try:
        return _run(build_parser().parse_args(argv))
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr = streams


def _run(args: argparse.Namespace) -> int:
    debug = getattr(args, "debug", False)
    if debug or getattr(args, "verbose", False):  # the course's own logs (libraries': --debug)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger = logging.getLogger() if debug else logging.getLogger("course")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if debug else logging.INFO)
    try:
        root = find_course_root()
        return args.run(root, args)
    except (ReleaseError, SandboxUnavailable, CanaryFailed, FileNotFoundError, ValueError) as error:
        if debug:
            traceback.print_exc()
        print(f"course: {error}", file=sys.stderr)
        return 2
