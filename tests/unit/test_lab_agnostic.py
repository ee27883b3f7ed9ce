"""The course's tools and the judge's runtime know no lab's shape: every lab is a plug-in
(``labs/<lab>/``, the helpers its notebooks import), so nothing in ``course/`` or
``judge_runtime/`` names a function a lab grades or the network it builds, not even in a
comment."""

from __future__ import annotations

import re

from course.grading.admission import labs_of
from course.labs import load_lab
from tests.support.paths import ROOT

# What the first labs' networks are made of, and the runner's old name for its call count.
NETWORK_WORDS = ("backprop", "logistic", "softmax", "forward_calls")
GENERIC = {"train"}  # a graded function whose name is also an everyday word of the tools


def _lab_words() -> set[str]:
    words = set(NETWORK_WORDS) | {word.capitalize() for word in NETWORK_WORDS}
    for lab in labs_of(ROOT):
        words |= {judge.function for judge in load_lab(ROOT, lab).judges} - GENERIC
    return words


def test_no_file_of_the_tools_or_the_runtime_names_a_lab():
    # case-sensitive: a lab's ``Network`` is not the sandbox's network
    pattern = re.compile(r"\b(" + "|".join(sorted(_lab_words())) + r")\b")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in ("course", "judge_runtime")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file() and path.suffix in (".py", ".html", ".tpl", ".j2", ".c", ".css", ".js")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, "\n".join(found)


def test_the_words_looked_for_include_every_lab_s_graded_functions():
    words = _lab_words()
    assert {"backprop", "numerical_gradient", "affine_backward", "Network"} <= words
