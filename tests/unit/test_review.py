"""What the judge flags for a reviewer in a graded function's code (course.judge.review): the
judge's runtime or a withheld helpers module imported, never the network's forward pass or a
module named only in a comment."""

from __future__ import annotations

import pytest

from course.judge.review import review_reasons
from labs.backprop_judge import WITHHELD_HELPERS

WITHHELD = WITHHELD_HELPERS
IMPORTS_CHECKING_CODE = "it imports the course's checking code"


@pytest.mark.parametrize(
    "code",
    [
        "from judge_runtime.runner import run_case\n",
        "import judge_runtime.steps as s\n",
        "from judge_runtime import training\n",
        "from helpers.lab1 import true_gradients\n",
        "from helpers.backprop_spec import true_gradients\n",
        "from helpers import step_verdicts\n",
        "from helpers import network, gradcheck\n",
        "g = helpers.lab1.true_gradients(x, t, W1, b1, W2, b2, f)\n",
    ],
)
def test_an_import_of_the_checking_code_is_flagged(code):
    assert IMPORTS_CHECKING_CODE in review_reasons(code, WITHHELD)


@pytest.mark.parametrize(
    "code",
    [
        "from helpers.network import logistic\n",
        "from helpers import datasets\n",
        "# not helpers.lab1 nor judge_runtime: my own derivation\nd = y - t\n",
    ],
)
def test_what_a_student_may_import_or_mention_in_a_comment_is_not(code):
    assert IMPORTS_CHECKING_CODE not in review_reasons(code, WITHHELD)


def test_a_lab_without_withheld_modules_flags_only_the_runtime():
    assert review_reasons("from helpers.lab1 import check_step\n") == []
    assert review_reasons("import judge_runtime\n") == [IMPORTS_CHECKING_CODE]


LOADS_MODULES = "it imports modules other than by import statements"


@pytest.mark.parametrize(
    "code",
    [
        "import importlib\nspec = importlib.import_module('helpers.' + name)\n",
        "from importlib.machinery import SourcelessFileLoader\n",
        "m = __import__('hel' + 'pers.backprop_spec')\n",
        "import marshal\ncode = marshal.loads(data[16:])\n",
    ],
)
def test_a_module_loaded_by_a_computed_name_or_from_a_file_is_flagged(code):
    assert LOADS_MODULES in review_reasons(code, WITHHELD)


def test_a_plain_backprop_loads_no_module():
    code = "def backprop(x, t, W1, b1, W2, b2):\n    import numpy as np\n    return np.outer(x, t)"
    assert review_reasons(code, WITHHELD) == []


COMPILES = "it compiles or rewrites code at run time"


@pytest.mark.parametrize(
    "code", ["exec(source)\n", "f = eval('lambda x: x')\n", "code = compile(text, 'f', 'exec')\n"]
)
def test_code_compiled_at_run_time_is_flagged(code):
    assert COMPILES in review_reasons(code)


@pytest.mark.parametrize(
    "code",
    [
        "class Network:\n    def eval(self, X):\n        return X\n",
        "pattern = re.compile(r'\\d+')\n",
        "network.eval()\n",
    ],
)
def test_a_method_or_a_library_function_of_that_name_is_not_flagged(code):
    assert COMPILES not in review_reasons(code)


def test_reaching_into_a_function_s_globals_is_flagged():
    code = "softmax_cross_entropy.__globals__['CALLS'].clear()\n"
    assert "it inspects its callers or the interpreter" in review_reasons(code)


def test_the_probe_s_own_module_named_in_student_code_is_flagged():
    code = "import helpers.layer_calls as calls\ncalls.numbers = list\n"
    assert IMPORTS_CHECKING_CODE in review_reasons(code, ("layer_calls.py",))
