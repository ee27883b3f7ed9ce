"""What each ``course`` command does (``course.cli`` parses the command line and calls one).

Each takes the course root and the parsed arguments and returns the exit status (0 all well,
1 something needs the instructor's attention)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from course import layout
from course.grading.admission import labs_of, require_lab
from course.grading.cohort import grade_cohort, judged_with_older_version
from course.labs import copy_course, load_lab
from course.late import check_deadlines
from course.nbgrader_setup import CONFIG_FILE
from course.release import generate_release, release_differences
from course.settings import limited_to

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
    from course.lms.collect import collect

    check_deadlines(root)
    report = collect(root, args.lab, Path(args.path), replace=args.replace)
    print("\n".join(report.lines()))
    return 1 if report.problems else 0


def cmd_grade(root: Path, args) -> int:
    check_deadlines(root)
    grading = {
        "workers": args.workers,
        "student_timeout": args.student_timeout,
        "progress": not args.quiet,
        "scheduler": args.scheduler,
        "certs": Path(args.certs) if args.certs else None,
        "insecure_local_only": args.insecure_local_only,
        "unbounded": args.unbounded,
    }
    if args.diff or args.apply_diff:
        return _regrade(root, args, grading)
    outcomes = grade_cohort(
        root, args.lab, force=args.force, sandbox=not args.no_sandbox, **grading
    )
    attention = [o for o in outcomes.values() if o.needs_attention]
    print(
        f"{len(outcomes)} students; feedback in {root / 'feedback'}; grades in "
        f"{root / 'reports' / args.lab / 'grades.csv'}"
    )
    for outcome in attention:
        print(f"needs attention: {outcome.student}: {outcome.describe()}")
    older = [] if args.no_sandbox else judged_with_older_version(root, args.lab)
    if older:
        print(
            f"graded with an older version of the judge: {len(older)} student"
            f"{'s' if len(older) != 1 else ''} ({', '.join(older[:8])}"
            f"{', ...' if len(older) > 8 else ''}); see what a regrade would change with "
            f"`course grade {args.lab} --diff`, then write it with --apply-diff"
        )
    return 1 if attention or older else 0


def _regrade(root: Path, args, grading: dict) -> int:
    """``course grade LAB --diff`` (what a regrade would change, nothing written) or
    ``--apply-diff`` (write what the last diff showed)."""
    from course.grading.regrade import DIFF_CSV, apply_regrade, describe_diff, diff_regrade

    if args.no_sandbox:
        raise ValueError("--diff and --apply-diff judge with the sandbox: drop --no-sandbox")
    if args.apply_diff:
        written, skipped = apply_regrade(root, args.lab)
        print(f"{args.lab}: regrade written for {len(written)} students")
        if skipped:
            print(
                "resubmitted since the diff, not written (graded at the next `course grade "
                f"{args.lab}`): " + ", ".join(skipped)
            )
        return 1 if skipped else 0
    diff = diff_regrade(root, args.lab, force=args.force, **grading)
    print(describe_diff(diff, args.lab), end="")
    if diff.graded:
        print(f"each change: {root / 'reports' / args.lab / DIFF_CSV}")
    return 0


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


def cmd_extend(root: Path, args) -> int:
    from course.export import per_test_rows
    from course.extension_record import extensions_path
    from course.extensions import (
        grant_extension,
        lab_extensions,
        requested_extension,
        student_problem,
    )
    from course.late import deadlines, shown_moment
    from course.nbgrader_setup import make_api

    require_lab(root, args.lab)
    check_deadlines(root)
    due = deadlines(root).due_date(args.lab)
    due_text = shown_moment(due) if due else "none (c.Deadlines.due)"
    record = layout.shown(root, extensions_path(root, args.lab)).rstrip("/")
    if args.list:
        if args.student:
            raise ValueError(
                f"--list lists every student's extension: give no student ({args.student})"
            )
        found = lab_extensions(root, args.lab)
        print(
            f"{args.lab} is due {shown_moment(due) if due else 'at no date (c.Deadlines.due)'}; "
            f"{len(found) or 'no'} extension{'' if len(found) == 1 else 's'} ({record})"
        )
        for entry in found:
            print(f"  {entry.describe()}")
        return 0
    if not args.student:
        raise ValueError(f"whose? give the student: course extend {args.lab} STUDENT --days N")
    if problem := student_problem(root, args.student):
        raise ValueError(problem)
    extension = requested_extension(args.lab, due, args.days, args.until, args.clear)
    if extension is None and args.student not in {
        e.student for e in lab_extensions(root, args.lab)
    }:
        print(f"{args.student} has no extension of {args.lab}: nothing to remove")
        return 0

    def standing() -> dict | None:
        """The student's raw, late_penalty and total (None: not graded)."""
        with make_api(root).gradebook as gradebook:
            assignment = next((a for a in gradebook.assignments if a.name == args.lab), None)
            if assignment is None or args.student not in {
                s.student.id for s in assignment.submissions
            }:
                return None
            return per_test_rows(gradebook, args.lab, [args.student])[0]

    before = standing()
    grant_extension(root, args.lab, args.student, extension)
    if extension is None:
        print(
            f"{args.lab}: {args.student}'s extension removed; their due date is the lab's, "
            f"{due_text}"
        )
    else:
        (given,) = [e for e in lab_extensions(root, args.lab) if e.student == args.student]
        print(f"{args.lab}, due {due_text}: {given.describe()}")
    after = standing()
    if before is None or after is None:
        if extension is not None:
            print(
                f"{args.student} is not graded yet: when they are, their lateness counts from "
                f"their own due date (kept in {record})"
            )
    else:
        print(
            f"{args.student}'s late penalty: {before['late_penalty']:g} -> "
            f"{after['late_penalty']:g}; total {after['total']:g} of {after['max']:g}"
        )
    return 0


def cmd_export(root: Path, args) -> int:
    from course.extensions import lab_extensions
    from course.hand_graded_feedback import remake_hand_graded_feedback
    from course.lms.handback import feedback_zip, read_roster, write_import

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
    for extended in lab_extensions(root, args.lab):  # the grades count lateness from these
        if extended.student in matching.by_row.values() and extended.due:
            print(f"due date extended, lateness counted from it: {extended.describe()}")
    for i, why in sorted(matching.blank_rows.items()):
        print(f"left blank (the LMS keeps its grade): {roster.describe(i)}: {why}")
    remade, unmade = remake_hand_graded_feedback(root, args.lab)
    for student, why in unmade.items():
        print(f"feedback of {student} NOT made again: {why}")
    if remade or unmade:
        print(f"feedback made again, with the scores given by hand: {len(remade)} students")
    pages = target.with_name(f"{args.lms}-feedback.zip")
    left_out = feedback_zip(root, args.lab, pages, waiting=matching.waiting)
    print(f"feedback pages, named for the LMS's bulk upload: {pages}")
    for student, why in left_out:
        print(f"their feedback page is not in the zip: {student}: {why}")
    for student, why in matching.unmatched:
        print(f"NOT in the import: {student}: {why}")
    return 1 if matching.unmatched or unmade else 0


def cmd_cluster_certs(root: Path, args) -> int:
    from course.grading.cluster_certs import make_certificates

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


def cmd_init_secret(root: Path, args) -> int:
    from course.case_keys import init_secret

    path = init_secret(root)
    print(
        f"course secret: {path} (readable by you only). Every student's hidden cases are "
        "drawn from it: keep a copy somewhere safe, never in the course folder."
    )
    return 0


def cmd_cases(root: Path, args) -> int:
    from course.reporting.cases import cases_json, cases_text, student_cases

    require_lab(root, args.lab)
    found = list(student_cases(root, args.lab, args.student))
    print(cases_json(found) if args.json else cases_text(found), end="")
    return 0


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
                diff=False,
                apply_diff=False,
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
        from course.lms.handback import write_sample_roster

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
