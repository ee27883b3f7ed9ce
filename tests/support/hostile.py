"""A catalogue of hostile and broken Lab 1 submissions, and what grading must make of each.

Each entry writes one student's submission into ``submitted/`` (some in the wrong place or
shape on purpose) and states the outcome: the status ``course grade`` reports and the most
points the student may keep. Cheats must earn nothing for the steps they cheat (the clean-room
re-check overrides the kernel) and be flagged; broken submissions get a clear outcome; the rest
of the cohort is graded as usual.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sqlite3
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course.notebooks import cell_by_grade_id as _cell
from labs.lab1.cohort import LAB1_COHORT, build_submission
from tests.support.paths import SOURCE_NOTEBOOK
from tests.support.student_code import CENTRAL_DIFFERENCES

SUBMISSIONS = {s.student: s for s in LAB1_COHORT}
NUMERICAL_TEST = "test_numerical_gradient"
NOTEBOOK = "classification.ipynb"
PROBE_PORT = 47321  # a listener on the grader's loopback that no sandbox may reach
EXIT_HANDLER_MARK = "exit-handler-ran"  # what a student's exit handler would leave behind


def _points_but(*grade_ids: str) -> float:
    """Lab 1's total less the points of ``grade_ids`` (the source notebook's)."""
    points = {
        cell.metadata.nbgrader["grade_id"]: cell.metadata.nbgrader["points"]
        for cell in nbformat.read(SOURCE_NOTEBOOK, as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }
    return sum(p for grade_id, p in points.items() if grade_id not in grade_ids)


WRITTEN = ("answer_dloss_dh", "answer_dloss_dW1")  # graded by hand: never in a total here
FULL = _points_but(*WRITTEN)  # every test passed
# What a submission whose backprop cell is wrecked still earns: its own numerical_gradient,
# a function of its own, judged apart.
OWN_NUMERICAL = FULL - _points_but(*WRITTEN, NUMERICAL_TEST)


@dataclass(frozen=True)
class Hostile:
    """One hostile or broken submission and the outcome grading must give it."""

    student: str
    what: str
    write: Callable[[Path, nbformat.NotebookNode, nbformat.NotebookNode], None]
    statuses: frozenset[str]
    max_total: float
    min_total: float = 0.0  # what it must keep: honest work is not penalised for the attempt


def _notebook(source, release, student="correct"):
    return build_submission(source, release, SUBMISSIONS[student])


def _save(folder: Path, nb, name: str = NOTEBOOK) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)


def _with_prelude(prelude: str, base: str = "correct"):
    """A submission whose backprop cell starts (or, with ``{def}``, wraps) with ``prelude``."""

    def write(folder, source, release):
        nb = _notebook(source, release, base)
        cell = _cell(nb, "backprop")
        cell.source = (
            prelude.replace("{def}", cell.source)
            if "{def}" in prelude
            else (prelude + "\n" + cell.source)
        )
        _save(folder, nb)

    return write


def _edit(change, base: str = "correct"):
    def write(folder, source, release):
        nb = _notebook(source, release, base)
        change(nb)
        _save(folder, nb)

    return write


def _answer(grade_id: str, text: str):
    """An edit that writes ``text`` as the written answer ``grade_id``."""

    def change(nb):
        _cell(nb, grade_id).source = text

    return change


def _raw(text_of):
    def write(folder, source, release):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / NOTEBOOK).write_text(text_of(nbformat.writes(_notebook(source, release))))

    return write


def _renamed(folder, source, release):
    _save(folder, _notebook(source, release), "homework.ipynb")


def _misplaced(folder, source, release):
    _save(folder.parent, _notebook(source, release))  # submitted/<student>/classification.ipynb


def _delete_cell(nb):
    nb.cells.remove(_cell(nb, "test_dloss_dy"))


def _delete_answer(nb):
    nb.cells.remove(_cell(nb, "answer_dloss_dh"))


def _answer_beside(nb):
    answer = _cell(nb, "answer_dloss_dh")
    mine = nbformat.v4.new_markdown_cell("My answer: `dloss_dh = W2.T @ dloss_dbeta`.")
    nb.cells.insert(nb.cells.index(answer) + 1, mine)


def _duplicate_cell(nb):
    cell = _cell(nb, "test_dloss_dy")
    nb.cells.insert(nb.cells.index(cell), copy.deepcopy(cell))


def _reorder_cells(nb):
    a, b = _cell(nb, "test_dloss_dy"), _cell(nb, "test_dloss_db1")
    i, j = nb.cells.index(a), nb.cells.index(b)
    nb.cells[i], nb.cells[j] = b, a


def _to_markdown(nb):
    cell = _cell(nb, "test_dloss_dh")
    nb.cells[nb.cells.index(cell)] = nbformat.v4.new_markdown_cell(
        cell.source, metadata=cell.metadata
    )


def _set(path: tuple, value, grade_id: str | None = "test_dloss_dy"):
    def change(nb):
        target = _cell(nb, grade_id).metadata if grade_id else nb.metadata
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


PATCH_HELPERS = """
import os
if os.environ.get("NBGRADER_EXECUTION"):
    import helpers.lab1 as _lab1
    for _name in ("check_step", "check_step_on_hidden_cases", "check_backprop_gradients",
                  "check_backprop_gradients_on_hidden_cases", "check_training"):
        setattr(_lab1, _name, lambda *args, **kwargs: None)
"""
PATCH_NUMPY_AND_COMPARE = """
import numpy as np
import helpers.gradcheck as _gc
import helpers.lab1 as _lab1
np.allclose = lambda *a, **k: True
_passing = _gc.GradCheck("x", True, 1.0, (), ())
_gc.compare = lambda *a, **k: _passing
_gc.check_gradients = lambda params, *a, **k: {n: _passing for n in ("W1", "b1", "W2", "b2")}
_lab1.verify_step = lambda *a, **k: None
_lab1.verify_returned = lambda *a, **k: None
_lab1.judge_training = lambda *a, **k: None
"""
SILENCE_ERRORS = """
_ip = get_ipython()
_ip.showtraceback = lambda *a, **k: None
_ip.showsyntaxerror = lambda *a, **k: None
"""
DROP_TEST_CALLS = """
def _drop_checks(lines):
    return [line for line in lines if "check_" not in line]
get_ipython().input_transformers_post.append(_drop_checks)
"""
EQ_EVERYTHING = """
class _Anything:
    def __eq__(self, other):
        return True
    def __array__(self, dtype=None, copy=None):
        import numpy
        return numpy.zeros((3, 10))
{def}
_real = backprop
def backprop(x, t, W1, b1, W2, b2):
    return tuple(_Anything() for _ in range(4))
"""
LEAKED_BACKPROP = """
import os
try:
    open(os.path.join("..", "..", "..", "gradebook.db"), "rb").read(16)
    open(os.path.join("..", "..", "..", "source", "lab1", "classification.ipynb")).read(16)
    _LEAKED = True
except OSError:
    _LEAKED = False
{def}
_real = backprop
def backprop(*args):
    if not _LEAKED:
        raise NotImplementedError("could not read the hidden tests")
    return _real(*args)
"""
VANDAL = """
import os, shutil
for _path in ("../../../gradebook.db", "../../../source/lab1/classification.ipynb",
              "../../../submitted/correct/lab1/classification.ipynb",
              "../../correct/lab1/classification.ipynb", "../../../nbgrader_config.py"):
    for _attempt in (lambda p: open(p, "w").write("vandalised"), os.remove):
        try:
            _attempt(_path)
        except OSError:
            pass
shutil.rmtree("../../../source", ignore_errors=True)
"""
SOCKET = f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {PROBE_PORT}), timeout=2).sendall(b"escaped")
except OSError:
    pass
"""
WRITE_MEGABYTES = """
try:
    with open({path!r}, "wb") as _f:
        for _ in range({count}):
            _f.write(b"\\0" * 1024**2)
except OSError:
    pass
"""
HUGE_FILE = WRITE_MEGABYTES.format(path="huge.bin", count=1024)  # 1 GiB in the working folder
IGNORE_INTERRUPTS = """
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
"""
FORK_BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
EXIT_HANDLER = f"""
import atexit
atexit.register(lambda: open("{EXIT_HANDLER_MARK}", "w").close())
"""

# Containment: each planted link names its target both relative to the kernel's working folder
# and absolutely ({root} is the course folder, {outside} a root-only file outside it). The
# kernel works in a private scratch, so none of them reaches past it.
OUTSIDE_SECRET = "outside-secret.txt"  # written beside the course by the test fixture
PLANT_LINKS = """
import os
for _name, _targets in {links!r}.items():
    for _target in _targets:
        for _where in (_name, os.path.join("/tmp", _name)):
            try:
                if os.path.lexists(_where):
                    os.remove(_where)
                _target = _target.replace("{{root}}", {root!r})
                os.symlink(_target.replace("{{outside}}", {outside!r}), _where)
            except OSError:
                pass
"""
TMP_FLOOD = WRITE_MEGABYTES.format(path="/tmp/flood.bin", count=1800)  # 1.8 GB into /tmp
FILE_FLOOD = """
try:
    for _i in range(20_000):
        open(f"small-{_i}.txt", "w").close()
except OSError:
    pass
"""
OUTPUT_STREAM_FLOOD = """
for _ in range(1500):
    print("x" * 1_000_000)  # 1.5 GB, a megabyte at a time
"""
OUTPUT_MESSAGE_FLOOD = """
print("x" * 300_000_000)  # 300 MB in one message
"""
CLEAN_ROOM_FLOOD = """
import sys
if "ipykernel" not in sys.modules:  # not in the notebook: the judge, answering down a pipe
    import os
    _chunk = b"[" * 64 * 1024**2
    for _fd in range(1, 16):
        try:
            for _ in range(32):  # 2 GiB
                os.write(_fd, _chunk)
        except OSError:
            pass
"""
FORK_SWARM = """
import os, time
if os.environ.get("NBGRADER_EXECUTION"):
    for _ in range(50):
        if os.fork() == 0:
            while True:  # busy, until the sandbox is torn down
                pass
"""
SCRIPT_OUTPUT = """
from IPython.display import HTML, display
display(HTML('<b>hi</b><script>window.COURSE_XSS = 1</script>'
             '<img src="x" onerror="window.COURSE_XSS = 2">'))
"""
XSS_MARK = "COURSE_XSS"
SCRIPT_ANSWER = (
    "<b>dloss_dh</b><script>window.COURSE_XSS = 3</script>"
    '<img src="x" onerror="window.COURSE_XSS = 4"> is `W2.T @ dloss_dbeta`'
)
PRINT_HISTORY = "print('\\n'.join(In))  # every cell run so far, hidden tests included"
# What the kernel holds and the machine shows, encoded so no filter of known text sees it; the
# mark is built at run time, so a page holding it held the output, not the cell's code.
ENCODED_MARK = "ENCODED-FOR-LATER"
ENCODED_HISTORY = """
import base64, json, zlib
print("ENCODED" + "-FOR-LATER:" + base64.b64encode(zlib.compress(json.dumps(In).encode())).decode())
"""
ENCODED_ENVIRONMENT = """
import base64, json, os
_seen = {"env": dict(os.environ), "cwd": os.getcwd()}
try:
    _seen["passwd"] = open("/etc/passwd").read()
except OSError:
    pass
print("ENCODED" + "-FOR-LATER:" + base64.b64encode(json.dumps(_seen).encode()).decode())
"""
HOOKS_QUOTE_SOURCES = """
_seen = []
_ip = get_ipython()
_ip.events.register("pre_run_cell", lambda info: _seen.append(info.raw_cell))
_ip.events.register("post_run_cell", lambda result: print("\\n".join(_seen[-3:])))
"""


def _append_cell(code: str):
    """A correct submission with a code cell of the student's own added at the end."""

    def change(nb):
        nb.cells.append(nbformat.v4.new_code_cell(code))

    return _edit(change)


def _planting(links: dict[str, tuple[str, ...]]):
    """A correct submission whose backprop cell first plants ``links`` (name: targets)."""

    def write(folder, source, release):
        root = folder.parents[2]
        code = PLANT_LINKS.format(
            links=links, root=str(root), outside=str(root.parent / OUTSIDE_SECRET)
        )
        _with_prelude(code)(folder, source, release)

    return write


def _linked_submission(folder, source, release):
    """submitted/<student>/lab1/classification.ipynb is a symbolic link to a classmate's."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / NOTEBOOK).symlink_to(folder.parents[1] / "correct" / "lab1" / NOTEBOOK)


def _hard_linked_submission(folder, source, release):
    """A hard link to a notebook outside the course, in place of a submitted file."""
    outside = folder.parents[3] / "outside-notebook.ipynb"
    nbformat.write(_notebook(source, release), outside)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / NOTEBOOK).hardlink_to(outside)


def _correct(folder, source, release):
    _save(folder, _notebook(source, release))


CLEAN = frozenset({"graded"})
# Reading the answers the judge holds. Each step's block only says where its value comes from.
STEP_ASSIGNMENT = re.compile(r"^(?P<indent>\s+)(?P<name>dloss_d\w+) = .*$", re.MULTILINE)
PEEK_AT_THE_JUDGE = '''
def _peek(name):
    """The judge's true value of name, wherever it lies in the frames that call us."""
    import sys as _s
    frame = getattr(_s, "_get" + "frame")(1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            for found in (value, getattr(value, "get", lambda k: None)("truth")):
                if isinstance(found, dict) and name in found:
                    return np.array(found[name])
                if isinstance(found, list):
                    for item in found:
                        if isinstance(item, dict) and name in item.get("truth", {}):
                            return np.array(item["truth"][name])
        frame = getattr(frame, "f_" + "back")
    return None
'''


def _every_step(prelude: str, value):
    """A correct submission whose every step assigns ``value(name)`` instead, after
    ``prelude`` (no name a static scan knows)."""

    def write(folder, source, release):
        nb = _notebook(source, release)
        cell = _cell(nb, "backprop")
        cell.source = prelude + STEP_ASSIGNMENT.sub(
            lambda m: f"{m['indent']}{m['name']} = {value(m['name'])}", cell.source
        )
        _save(folder, nb)

    return write


HIDDEN_ORACLE = '''
import importlib as _importlib


def _oracle(x, t, W1, b1, W2, b2):
    """The graders' true gradients, imported under a name no static scan knows."""
    checks = _importlib.import_module("helpers." + "backprop" + "_spec")
    network = _importlib.import_module("helpers." + "net" + "work")
    forward = network.forward(x, W1, b1, W2, b2)
    return getattr(checks, "true_" + "gradients")(x, t, W1, b1, W2, b2, forward)
'''


def _answers_from_a_hidden_oracle(folder, source, release):
    """Every step takes its value from the checking code, imported by a computed name."""
    nb = _notebook(source, release)
    cell = _cell(nb, "backprop")
    first = cell.source.index("    # dloss_dy:")
    body = STEP_ASSIGNMENT.sub(
        lambda m: f'{m["indent"]}{m["name"]} = _true["{m["name"]}"]', cell.source[first:]
    )
    cell.source = (
        HIDDEN_ORACLE + cell.source[:first] + "    _true = _oracle(x, t, W1, b1, W2, b2)\n" + body
    )
    _save(folder, nb)


NO_STEPS_READS_FRAMES = '''
def backprop(x, t, W1, b1, W2, b2):
    """No step comments (nothing to split), the returned gradients read from the judge."""
    try:
        raise ValueError
    except ValueError as error:
        frame = error.__traceback__.tb_frame
    while frame is not None:
        for value in list(frame.f_locals.values()):
            truth = value.get("truth") if isinstance(value, dict) else None
            if isinstance(truth, dict) and "dloss_dW1" in truth:
                return tuple(np.array(truth[k]) for k in
                             ("dloss_dW1", "dloss_db1", "dloss_dW2", "dloss_db2"))
        frame = getattr(frame, "f_" + "back")
    raise NotImplementedError()
'''
NUMERICAL_WITH_THE_GRADERS_LOSS = (
    '''
from helpers.network import loss as _loss


def backprop(x, t, W1, b1, W2, b2):
    """Central differences of the graders' own loss (not the provided functions)."""
    params = [W1.copy(), b1.copy(), W2.copy(), b2.copy()]

    def loss():
        return _loss(x, t, *params)
'''
    + CENTRAL_DIFFERENCES
)
MALFORMED_ANSWER = """
import os as _os


def _answer_channel():
    stdin = _os.readlink("/proc/self/fd/0")
    for fd in sorted(int(n) for n in _os.listdir("/proc/self/fd")):
        try:
            target = _os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if fd > 2 and target.startswith("pipe:") and target != stdin:
            return fd
    return None


_channel = _answer_channel()
if _channel is not None:
    _os.write(_channel, b"[" * 100000 + b"\\n")
"""


# Every step raises an exception holding all it was given, encoded: the judge's message must
# carry none of it out (the mark is built at run time, so the student's code shown in the
# feedback does not hold it).
DUMP_MARK = "LEAKED-INPUTS:"
EXCEPTION_DUMP = """
import base64 as _b64, json as _json
import numpy as _np


def _dump(**given):
    kept = {k: _np.asarray(v).tolist() for k, v in given.items()
            if isinstance(v, (_np.ndarray, float, int))}
    raise ValueError("\x1b]0;" + "LEAKED" + "-INPUTS:"
                     + _b64.b64encode(_json.dumps(kept).encode()).decode() + "\x07")
"""


def _whole_cell(code: str, base: str = "blank"):
    def write(folder, source, release):
        nb = _notebook(source, release, base)
        _cell(nb, "backprop").source = code
        _save(folder, nb)

    return write


def _own_truth_as_input(folder, source, release):
    """Every step variable is bound before the first step, so that each step's block, run on
    its own, would be handed its own true value as an input: ``dloss_dy = dloss_dy``."""
    nb = _notebook(source, release)
    cell = _cell(nb, "backprop")
    names = STEP_ASSIGNMENT.findall(cell.source)
    first = cell.source.index("    # dloss_dy:")
    bind = "    " + " = ".join(name for _, name in names) + " = None\n"
    code = cell.source[:first] + bind + cell.source[first:]
    cell.source = STEP_ASSIGNMENT.sub(lambda m: f"{m['indent']}{m['name']} = {m['name']}", code)
    _save(folder, nb)


BROKEN = frozenset({"failed"})
STOPPED = frozenset({"timeout", "failed"})
FLAGGED = frozenset({"flagged"})

CATALOGUE = (
    Hostile("h_corrupt_json", "truncated JSON", _raw(lambda t: t[: len(t) // 3]), BROKEN, 0),
    Hostile("h_empty_file", "an empty file", _raw(lambda t: ""), BROKEN, 0),
    Hostile("h_renamed", "notebook renamed homework.ipynb", _renamed, BROKEN, 0),
    Hostile("h_misplaced", "notebook outside the lab folder", _misplaced, BROKEN, 0),
    # correct code whose test cell is gone: the judge restores it from the source, judges it
    # and flags the submission saying so
    Hostile(
        "h_deleted_cell", "a grade cell deleted", _edit(_delete_cell), FLAGGED, FULL, min_total=FULL
    ),
    Hostile(
        "h_deleted_answer",
        "a written answer's cell deleted",
        _edit(_delete_answer),
        FLAGGED,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_answer_beside",
        "a written answer left as released, written in a cell of its own beside it",
        _edit(_answer_beside),
        FLAGGED,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_duplicated_cell",
        "a grade cell duplicated",
        _edit(_duplicate_cell),
        frozenset({"failed", "flagged"}),
        FULL,
    ),
    Hostile(
        "h_reordered", "two grade cells swapped", _edit(_reorder_cells), CLEAN, FULL, min_total=FULL
    ),
    Hostile(
        "h_type_changed",
        "a test cell turned into markdown",
        _edit(_to_markdown),
        CLEAN | FLAGGED,
        FULL,
    ),
    Hostile(
        "h_changed_points",
        "a test worth 100 points",
        _edit(_set(("nbgrader", "points"), 100)),
        CLEAN | FLAGGED,
        FULL,
    ),
    Hostile(
        "h_changed_grade_id",
        "a test's grade_id renamed",
        _edit(_set(("nbgrader", "grade_id"), "test_free_points")),
        frozenset({"failed", "flagged"}),
        _points_but("test_dloss_dy"),
    ),
    Hostile(
        "h_changed_kernelspec",
        "kernelspec pointing elsewhere",
        _edit(_set(("kernelspec", "name"), "evil", grade_id=None)),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_import_error",
        "an exception at import",
        _with_prelude("import not_a_module"),
        CLEAN,
        OWN_NUMERICAL,
    ),
    Hostile(
        "h_ignores_interrupts",
        "a loop that ignores interrupts",
        _with_prelude(IGNORE_INTERRUPTS),
        STOPPED,
        OWN_NUMERICAL,
    ),
    Hostile(
        "h_os_exit",
        "os._exit in the solution cell",
        _with_prelude("import os\nos._exit(3)"),
        frozenset({"graded", "failed"}),
        OWN_NUMERICAL,
    ),
    Hostile(
        "h_sys_exit",
        "sys.exit after defining backprop",
        _with_prelude("{def}\nimport sys\nsys.exit()"),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_memory_bomb",
        "allocates 64 GiB",
        _with_prelude("_x = bytearray(64 * 1024**3)"),
        CLEAN,
        OWN_NUMERICAL,
    ),
    Hostile("h_fork_bomb", "forks without end", _with_prelude(FORK_BOMB), STOPPED, OWN_NUMERICAL),
    Hostile(
        "h_output_flood",
        "prints 100 MB",
        _with_prelude("print('x' * 100_000_000)"),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_huge_file", "writes a 1 GiB file", _with_prelude(HUGE_FILE), CLEAN, FULL, min_total=FULL
    ),
    Hostile(
        "h_socket",
        "opens a socket to the grader's loopback",
        _with_prelude(SOCKET),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_reads_hidden_tests",
        "reads the gradebook and source/ to unlock backprop",
        _with_prelude(LEAKED_BACKPROP),
        CLEAN,
        OWN_NUMERICAL,
    ),
    Hostile(
        "h_vandal",
        "overwrites the gradebook, source/ and another student's work",
        _with_prelude(VANDAL, base="blank"),
        CLEAN,
        0,
    ),
    Hostile(
        "h_patches_helpers",
        "blank, but disables the checks when graded",
        _with_prelude(PATCH_HELPERS, base="blank"),
        FLAGGED,
        0,
    ),
    Hostile(
        "h_patches_numpy",
        "wrong dloss_dbeta, np.allclose and compare patched",
        _with_prelude(PATCH_NUMPY_AND_COMPARE, base="wrong_dbeta"),
        FLAGGED,
        _points_but(*SUBMISSIONS["wrong_dbeta"].expected_failures),
    ),
    Hostile(
        "h_silences_errors",
        "blank, with IPython's error display switched off",
        _with_prelude(SILENCE_ERRORS, base="blank"),
        CLEAN | FLAGGED,
        0,
    ),
    Hostile(
        "h_input_transformer",
        "blank, with an input transformer deleting every check",
        _with_prelude(DROP_TEST_CALLS, base="blank"),
        FLAGGED,
        0,
    ),
    Hostile(
        "h_eq_everything",
        "returns objects equal to anything",
        _with_prelude(EQ_EVERYTHING),
        CLEAN,
        OWN_NUMERICAL,
    ),
    Hostile(
        "h_exit_handler",
        "an exit handler, to run after the last cell",
        _with_prelude(EXIT_HANDLER),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    # Containment (nothing a submission does reaches past its own scratch).
    Hostile(
        "h_link_gradebook",
        "links the gradebook into its working folder, to be copied back",
        _planting({"gradebook.db": ("../../../gradebook.db", "{root}/gradebook.db")}),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_link_source",
        "links the instructor's notebook into its working folder",
        _planting({"solution.ipynb": ("{root}/source/lab1/classification.ipynb",)}),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_link_outside",
        "links a root-only file outside the course",
        _planting({"secret.txt": ("{outside}",)}),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_link_classmate",
        "replaces its notebook with a link to a classmate's submission",
        _planting({NOTEBOOK: ("{root}/submitted/correct/lab1/classification.ipynb",)}),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_link_config",
        "links the grading marker to the course configuration",
        _planting({".course-graded.json": ("{root}/nbgrader_config.py",)}),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_link_marker_gradebook",
        "links its marker and notebook to the gradebook",
        _planting(
            {".course-graded.json": ("{root}/gradebook.db",), NOTEBOOK: ("{root}/gradebook.db",)}
        ),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_submitted_symlink",
        "a submitted notebook that is a link to a classmate's",
        _linked_submission,
        BROKEN,
        0,
    ),
    Hostile(
        "h_submitted_hardlink",
        "a submitted notebook that is a hard link",
        _hard_linked_submission,
        BROKEN,
        0,
    ),
    Hostile("*", "a correct submission in a folder named *", _correct, BROKEN, 0),
    Hostile(
        "h_tmp_flood",
        "writes 1.8 GB to /tmp",
        _with_prelude(TMP_FLOOD),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_file_flood",
        "creates 20,000 files in its working folder",
        _with_prelude(FILE_FLOOD),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_output_stream_flood",
        "prints 1.5 GB in one cell, a megabyte at a time",
        _with_prelude(OUTPUT_STREAM_FLOOD),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_output_message_flood",
        "prints 300 MB at once",
        _with_prelude(OUTPUT_MESSAGE_FLOOD),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_clean_room_flood",
        "sends 2 GiB down the clean room's answer pipe",
        _with_prelude(CLEAN_ROOM_FLOOD),
        FLAGGED,
        OWN_NUMERICAL,
    ),
    Hostile(
        "h_swarm",
        "50 busy processes, beside a classmate graded at the same time",
        _with_prelude(FORK_SWARM),
        STOPPED | CLEAN,
        FULL,
    ),
    Hostile(
        "h_script_output",
        "a script and an onerror handler in its output",
        _with_prelude(SCRIPT_OUTPUT),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_script_answer",
        "a script and an onerror handler in a written answer",
        _edit(_answer("answer_dloss_dh", SCRIPT_ANSWER)),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    # Learning the hidden tests from one's own feedback.
    Hostile(
        "h_prints_history",
        "an added last cell printing every cell run (In)",
        _append_cell(PRINT_HISTORY),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_exception_dump",
        "each step raises with all it was given, encoded, behind an escape sequence",
        _every_step(EXCEPTION_DUMP, lambda _: "_dump(**locals())"),
        CLEAN | FLAGGED,
        OWN_NUMERICAL,
    ),
    Hostile(
        "h_encoded_history",
        "an added last cell printing In, compressed and encoded",
        _append_cell(ENCODED_HISTORY),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_encoded_environment",
        "prints the environment and /etc/passwd, encoded",
        _with_prelude(ENCODED_ENVIRONMENT),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
    Hostile(
        "h_hooks_quote_sources",
        "IPython hooks that print the cells' sources as they run",
        _with_prelude(HOOKS_QUOTE_SOURCES),
        CLEAN | FLAGGED,
        FULL,
        min_total=FULL,
    ),
    # Reading the judge's answers in its own process.
    Hostile(
        "h_answers_from_judge_frames",
        "each step reads its true value from the judge's frames",
        _every_step(PEEK_AT_THE_JUDGE, lambda name: f'_peek("{name}")'),
        # Its training walks the runner's frames at every step until the judge's budget stops
        # it: with the tests' limits (the judge's budgets lowered to the student's, see
        # tests/support/scratch.py) the student's limit may come first. Nothing earned either way.
        CLEAN | FLAGGED | frozenset({"timeout"}),
        OWN_NUMERICAL,
    ),
    Hostile(
        "h_own_truth_as_input",
        "each step variable bound early, so each step is handed its own true value",
        _own_truth_as_input,
        CLEAN | FLAGGED,
        OWN_NUMERICAL,
    ),
    Hostile(
        "h_hidden_oracle",
        "each step from the checks' true gradients, imported by a computed name",
        _answers_from_a_hidden_oracle,
        CLEAN | FLAGGED,
        OWN_NUMERICAL,
    ),
    Hostile(
        "h_no_steps_reads_frames",
        "no step comments, the returned gradients read from the judge's frames",
        _whole_cell(NO_STEPS_READS_FRAMES),
        CLEAN | FLAGGED,
        OWN_NUMERICAL,
    ),
    Hostile(
        "h_numerical_graders_loss",
        "differentiates the graders' own loss numerically",
        _whole_cell(NUMERICAL_WITH_THE_GRADERS_LOSS),
        FLAGGED,
        4 + OWN_NUMERICAL,
    ),
    Hostile(
        "h_malformed_answer",
        "writes a deeply nested line on the judge's answer channel",
        _with_prelude(MALFORMED_ANSWER, base="blank"),
        FLAGGED,
        0,
    ),
    # Correct, in a form the judge must still read.
    Hostile(
        "h_cell_magic_time",
        "a correct backprop cell under %%time",
        _with_prelude("%%time"),
        CLEAN,
        FULL,
        min_total=FULL,
    ),
)


def write_catalogue(
    source_path: Path,
    release_path: Path,
    submitted: Path,
    lab: str,
    only: Collection[str] | None = None,
) -> None:
    """Write every catalogue entry (or those of the students in ``only``) as
    ``submitted/<student>/<lab>/...`` (the entries that link to a classmate's work expect
    ``correct`` to be in ``submitted/`` already)."""
    source = nbformat.read(source_path, as_version=4)
    release = nbformat.read(release_path, as_version=4)
    for entry in CATALOGUE:
        if only is not None and entry.student not in only:
            continue
        entry.write(submitted / entry.student / lab, source, release)


GRADING_OUTPUTS = ("autograded", "feedback", "reports", "gradebook.db")


def course_files(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder`` (the course and what lies beside it), without following
    links, minus the grading outputs of the course inside it: ``{path: (kind, mode, content
    or link target)}``."""
    entries = {}
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if len(parts) >= 2 and parts[1].startswith(GRADING_OUTPUTS):
            continue
        info = path.lstat()
        if path.is_symlink():
            entries[str(path)] = ("link", info.st_mode, os.readlink(path))
        elif path.is_file():
            entries[str(path)] = ("file", info.st_mode, path.read_bytes())
        else:
            entries[str(path)] = ("folder", info.st_mode, None)
    return entries


def course_definition(gradebook_path: Path) -> str:
    """The gradebook's course-definition tables (assignments, notebooks, cells and their hidden
    tests) as text: grading may add grade rows but must never change these."""
    with sqlite3.connect(gradebook_path) as db:
        tables = (
            "course",
            "assignment",
            "notebook",
            "base_cell",
            "grade_cells",
            "solution_cells",
            "source_cell",
            "task_cells",
        )
        dump = {table: sorted(map(repr, db.execute(f"SELECT * FROM {table}"))) for table in tables}
    return json.dumps(dump)
