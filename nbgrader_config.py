"""nbgrader configuration of the course. The repository root is the course directory."""

c = get_config()  # noqa: F821 -- injected by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "nn-classification"
# The course directory (root) is where nbgrader runs: the repository root. The gradebook is
# nbgrader's default, gradebook.db there (ignored by git: it holds grades and hidden tests).

# The labs are added to the gradebook by `course release LAB` (nbgrader's generate_assignment
# creates them); students by `course collect` (or nbgrader's own db commands).

# A cell may run for at most this long while grading (seconds). The slowest cell of Lab 1 takes
# under a second, so a cell still running after 15 s is a loop that will not end.
c.Execute.timeout = 15
# Kill, rather than wait for, a kernel that ignores the interrupt at the timeout.
c.Execute.interrupt_on_timeout = True

# Release: strip outputs, replace solutions with stubs, remove hidden tests, lock read-only cells.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearOutput.enabled = True
c.LockCells.lock_all_cells = False
c.LockCells.lock_grade_cells = True
c.LockCells.lock_readonly_cells = True

# Late submissions (course/late.py). Each lab's due date, with its UTC offset: `course release`
# and `course grade` write it into the gradebook, where nbgrader's late penalty reads it. A
# submission's time is its timestamp.txt, which `course collect` writes from the LMS's zip
# (whose file times are in c.Deadlines.zip_timezone). Without a due date nothing is late.
c.Deadlines.due = {}  # e.g. {"lab1": "2026-10-16 23:59 +01:00", "lab2": "2026-11-06 23:59 +01:00"}
c.Deadlines.zip_timezone = "UTC"
# The penalty: 10 % of the score per day late or part of a day, counted from the due date,
# after 15 minutes' grace, at most 50 %.
c.AssignLatePenalties.plugin_class = "course.late.PercentPerDay"
c.PercentPerDay.percent_per_day = 10.0
c.PercentPerDay.cap_percent = 50.0
c.PercentPerDay.grace_minutes = 15.0

# Files next to the notebooks that must never reach students.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

from nbconvert.preprocessors import (  # noqa: E402
    ClearMetadataPreprocessor,
    CSSHTMLHeaderPreprocessor,
)
from nbconvert.preprocessors.sanitize import SanitizeHTML  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    GetGrades,
    IgnorePattern,
    SaveAutoGrades,
)

from course.nbgrader_ext.bounded_execute import BoundedExecute  # noqa: E402
from course.nbgrader_ext.escape_names import EscapeNames  # noqa: E402
from course.nbgrader_ext.feedback import TEMPLATE_FOLDERS, TEMPLATE_PATHS  # noqa: E402
from course.nbgrader_ext.hide_hidden_tests import HideHiddenTests  # noqa: E402
from course.nbgrader_ext.hide_paths import HideGraderPaths  # noqa: E402
from course.nbgrader_ext.hide_student_outputs import HideStudentOutputs  # noqa: E402
from course.nbgrader_ext.judge_cells import JudgeGradeCells  # noqa: E402
from course.nbgrader_ext.limit_output_size import LimitOutputSize  # noqa: E402
from course.nbgrader_ext.printable_cells import PrintableCells  # noqa: E402

# nbgrader's autograde steps, with Execute cutting each cell's output while it streams in,
# LimitOutput replaced by one that also caps characters (a single 100 MB print is one line,
# which LimitOutput alone lets into every copy of the notebook), and every output and markdown
# cell sanitised (no script, no event handler), since the formgrader shows the graded notebook.
# Before the scores are saved, the trusted judge decides every judged grade cell
# (course.nbgrader_ext.judge_cells): `course grade` turns it on with its sandbox; stock
# `nbgrader autograde`, which has neither, leaves it off (and the kernel's own test results count).
c.Autograde.autograde_preprocessors = [
    BoundedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutputSize,
    SanitizeHTML,
    JudgeGradeCells,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.JudgeGradeCells.enabled = False
c.SanitizeHTML.enabled = True  # nbconvert registers preprocessors disabled unless told
# Pages rendered from notebooks (feedback, the formgrader) sanitise HTML once more.
c.HTMLExporter.sanitize_html = True
# And print a student's name as text (course.nbgrader_ext.escape_names): the formgrader's
# template does not; and no control character of the student's
# (course.nbgrader_ext.printable_cells).
c.HTMLExporter.preprocessors = [EscapeNames, PrintableCells]

# Feedback shows each test's result and message, never the hidden test code.
# Nor the grader's file paths (course.nbgrader_ext.hide_paths): cut first, so that no output
# quoting a hidden line with paths inside it becomes that line once they are cut.
# Nor anything the student's code printed (course.nbgrader_ext.hide_student_outputs): only test
# results.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    HideGraderPaths,
    HideHiddenTests,
    HideStudentOutputs,
    CSSHTMLHeaderPreprocessor,
]
# Its pages are rendered by nbconvert's HTML exporter, compiling the templates once per process.
c.GenerateFeedback.exporter_class = "course.nbgrader_ext.feedback.FeedbackHTMLExporter"
c.FeedbackHTMLExporter.template_name = "course_feedback"  # names each test in the summary
c.FeedbackHTMLExporter.extra_template_basedirs = TEMPLATE_FOLDERS
c.FeedbackHTMLExporter.extra_template_paths = TEMPLATE_PATHS

# `nbgrader export` writes one column per grade cell (plus total and max), not just totals.
c.ExportApp.plugin_class = "course.export.PerTestCsvExportPlugin"
