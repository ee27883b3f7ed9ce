"""The ``course`` command: the instructor's side of the course, on nbgrader's API.

    course release LAB [--check]          generate the student version (or check it is in sync)
    course execute LAB [--inplace]        re-run the instructor notebooks, storing outputs
    course collect LAB PATH [--replace]   bring in submissions from a folder or an LMS zip
    course grade LAB [--workers N] [--force]
                                          autograde everyone, then feedback and grades CSV
    course grade LAB --scheduler tls://HOST:8786 [--certs FOLDER]
                                          the same, on a Dask cluster (mutual TLS)
    course cluster-certs FOLDER [--host H]
                                          certificates for the cluster's scheduler, workers
                                          and course grade
    course report LAB                     per-test table, totals histogram, who needs attention
    course audit LAB [--n N] [--pipeline K]
                                          check the grader on submissions derived from the
                                          lab's solution (rewrites, one-step mutants)
    course demo                           the whole path on a synthetic cohort

Exit status: 0 when all is well; 1 when some file or student needs the instructor's attention;
2 when the command could not run.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import traceback
from pathlib import Path

from course import layout
from course.canary import CanaryFailed
from course.cluster_certs import DAYS
from course.grading.admission import labs_of, require_lab
from course.grading.cohort import grade_cohort
from course.labs import copy_course, load_lab
from course.late import check_deadlines
from course.nbgrader_setup import CONFIG_FILE, find_course_root
from course.release import ReleaseError, generate_release, release_differences
from course.sandbox.errors import SandboxUnavailable
from course.settings import limited_to
from course.text import PrintableStream

# The execute, collect, report and demo commands import what only they need when they run
# (the zip collector, matplotlib, the cohort): `course grade` starts a second and a half sooner.

EXECUTED_DIR = Path("build") / "executed"
DEMO_DIR = Path("build") / "demo-course"
DEMO_STUDENT_CPU_SECONDS = 40.0


def cmd_release(root: Path, args) -> int:
    require_lab(root, args.lab)
    check_deadlines(root)
    if args.check:
        differences = release_differences(root, args.lab)
        for line in differences:
            print(line)
        if differences:
            print(f"release/{args.lab} is out of date: run `course release {args.lab}` and commit")
            return 1
        print(f"release/{args.lab} is in sync with source/{args.lab}")
        return 0
    stale = release_differences(root, args.lab)
    folder = generate_release(root, args.lab)
    print(f"student version of {args.lab}: {folder}/")
    if stale:
        print(
            f"it had fallen out of sync with source/{args.lab} ({len(stale)} file(s)); "
            "commit the regenerated release"
        )
    return 0


def cmd_execute(root: Path, args) -> int:
    from course.notebooks import execute_notebook

    require_lab(root, args.lab)
    for notebook in sorted(layout.source(root, args.lab).glob("*.ipynb")):
        target = notebook if args.inplace else root / EXECUTED_DIR / args.lab / notebook.name
        execute_notebook(notebook, target)
        print(f"executed {notebook} -> {target}")
    return 0


def cmd_collect(root: Path, args) -> int:
    from course.collect import collect

    check_deadlines(root)
    report = collect(root, args.lab, Path(args.path), replace=args.replace)
    print("\n".join(report.lines()))
    return 1 if report.problems else 0


def cmd_grade(root: Path, args) -> int:
    check_deadlines(root)
    outcomes = grade_cohort(
        root,
        args.lab,
        workers=args.workers,
        force=args.force,
        student_timeout=args.student_timeout,
        progress=not args.quiet,
        sandbox=not args.no_sandbox,
        scheduler=args.scheduler,
        certs=Path(args.certs) if args.certs else None,
        insecure_local_only=args.insecure_local_only,
        unbounded=args.unbounded,
    )
    attention = [o for o in outcomes.values() if o.needs_attention]
    print(
        f"{len(outcomes)} students; feedback in {root / 'feedback'}; grades in "
        f"{root / 'reports' / args.lab / 'grades.csv'}"
    )
    for outcome in attention:
        print(f"needs attention: {outcome.student}: {outcome.describe()}")
    return 1 if attention else 0


def cmd_report(root: Path, args) -> int:
    from course.reporting.build import build_report
    from course.reporting.terminal import format_summary

    require_lab(root, args.lab)
    if not list(layout.folder(root, "autograded").glob(f"*/{args.lab}/*.ipynb")):
        print(
            f"nothing of {args.lab} is graded yet: collect the submissions and run "
            f"`course grade {args.lab}` first",
            file=sys.stderr,
        )
        return 2
    if args.past and not Path(args.past).is_dir():
        raise FileNotFoundError(
            f"{args.past} is not a folder: give the folder that holds "
            "past cohorts' notebooks (any layout)"
        )
    report = build_report(root, args.lab, Path(args.past) if args.past else None)
    print(format_summary(report))
    return 1 if report.attention else 0


def cmd_export(root: Path, args) -> int:
    from course.lms import feedback_zip, read_roster, write_import

    require_lab(root, args.lab)
    roster = read_roster(Path(args.roster), args.lms)
    target = (
        Path(args.output)
        if args.output
        else layout.reports(root, args.lab) / (f"{args.lms}-import.csv")
    )
    matching = write_import(root, args.lab, roster, target, args.column, args.per_step)
    print(
        f"{args.lms} grade import for {args.lab}: {target} ({len(roster.rows)} roster rows, "
        f"{len(matching.by_row)} with a graded submission)"
    )
    for i in matching.no_submission:
        print(f"no submission, 0: {roster.describe(i)}")
    for i, why in sorted(matching.blank_rows.items()):
        print(f"left blank (the LMS keeps its grade): {roster.describe(i)}: {why}")
    pages = target.with_name(f"{args.lms}-feedback.zip")
    left_out = feedback_zip(root, args.lab, pages)
    print(f"feedback pages, named for the LMS's bulk upload: {pages}")
    for student in left_out:
        print(
            f"no LMS file name for {student} (not collected from an LMS zip): "
            "their feedback page is not in the zip"
        )
    for student, why in matching.unmatched:
        print(f"NOT in the import: {student}: {why}")
    return 1 if matching.unmatched else 0


def cmd_cluster_certs(root: Path, args) -> int:
    from course.cluster_certs import make_certificates

    folder = Path(args.folder).resolve()
    make_certificates(folder, args.host, args.days)
    tls = "--tls-ca-file {0}/ca.pem --tls-cert {0}/{1}.pem --tls-key {0}/{1}-key.pem"
    print(
        f"certificates in {folder} (valid {args.days} days). Start the cluster with",
        f"  dask scheduler --protocol tls {tls.format(folder, 'scheduler')}",
        f"  sudo -u course-grader dask worker tls://SCHEDULER:8786 --nthreads 1 "
        f"{tls.format(folder, 'worker')}",
        "  (as an unprivileged user that `scripts/setup-grader-user.sh course-grader` "
        "prepared on its machine, never as root: a worker runs what the scheduler sends)",
        "and grade with",
        f"  course grade LAB --scheduler tls://SCHEDULER:8786 --certs {folder}",
        "Copy ca.pem and the worker's pair to each worker machine, the scheduler's pair to "
        "the scheduler's; the client's pair stays with the course.",
        sep="\n",
    )
    return 0


def cmd_audit(root: Path, args) -> int:
    from course.audit import audit
    from course.audit.report import table, write_reports

    report = audit(
        root,
        args.lab,
        n=args.n,
        seed=args.seed,
        workers=args.workers,
        pipeline_sample=args.pipeline,
    )
    print(table(report))
    csv_path, html_path = write_reports(report, layout.reports(root, args.lab))
    print(f"report: {csv_path}, {html_path}")
    return 0 if report.passed else 1


def cmd_demo(root: Path, args) -> int:
    """Release and execute every lab, then grade each lab's synthetic cohort in a scratch
    course and set each student's planted outcome beside the one they got."""
    for lab in labs_of(root):
        cmd_release(root, argparse.Namespace(lab=lab, check=False))
        cmd_execute(root, argparse.Namespace(lab=lab, inplace=False))
    demo = root / DEMO_DIR
    if demo.exists():
        shutil.rmtree(demo)
    as_planted = True
    for lab in labs_of(root):
        cohort = load_lab(root, lab).demo
        if cohort is None:
            continue
        copy_course(root, demo, lab)
        with (demo / CONFIG_FILE).open("a") as config:  # the demo's own limits, last word
            config.write(f"\n# course demo\n{limited_to(args.student_timeout)}")
        generate_release(demo, lab)
        incoming = demo / "incoming" / lab
        cohort.write(demo, lab, incoming, cohort.cohort, flat=True)
        print(
            f"\nsynthetic cohort of {len(cohort.cohort)} students in {incoming}; "
            f"grading it in {demo}"
        )
        cmd_collect(demo, argparse.Namespace(lab=lab, path=incoming, replace=False))
        cmd_grade(
            demo,
            argparse.Namespace(
                lab=lab,
                workers=args.workers,
                force=False,
                student_timeout=None,
                quiet=False,
                no_sandbox=False,
                scheduler=None,
                certs=None,
                insecure_local_only=False,
                unbounded=False,
            ),
        )
        print()
        cmd_report(demo, argparse.Namespace(lab=lab, past=None))
        from course.demo import expected_against_graded
        from course.lms import write_sample_roster

        roster = write_sample_roster(
            demo / "incoming" / f"{lab}-canvas-roster.csv", [s.student for s in cohort.cohort[1:]]
        )
        print(
            f"\nCanvas's grade import for a sample roster ({roster}; its first student "
            "is left out on purpose, to show how an unmatched student is reported):"
        )
        cmd_export(
            demo,
            argparse.Namespace(
                lab=lab, lms="canvas", roster=roster, column=None, per_step=False, output=None
            ),
        )
        rows = expected_against_graded(demo, lab, cohort.cohort)
        print(f"\nthe synthetic students of {lab}, as planted and as graded:")
        print(f"  {'student':<34}{'expected':<18}{'got':<18}")
        for student, expected, got, same in rows:
            print(f"  {student:<34}{expected:<18}{got:<18}{'' if same else 'NOT AS EXPECTED'}")
        print(f"{sum(same for *_, same in rows)} of {len(rows)} graded as expected")
        as_planted = as_planted and all(same for *_, same in rows)
    return 0 if as_planted else 1


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
