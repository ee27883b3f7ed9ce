"""What a reviewer should see in the graded function's code (and the code of the student's
it calls): flagged for review, never points withheld on its own."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

# What the graded function's code, and the code of the student's it calls, may do that a
# reviewer should see: flagged for review, never points withheld on its own (points are
# withheld only for what the function was seen to do while judged: LabJudge.suspicions).
REVIEW_PATTERNS = (
    (
        re.compile(
            r"\bjudge_runtime\b|\bhelpers\.({withheld})\b|"
            r"from\s+helpers\s+import\s+[^\n]*\b({withheld})\b"
        ),
        "it imports the course's checking code",
    ),
    (
        re.compile(
            r"_getframe|\b(f_back|tb_frame|gi_frame|cr_frame|ag_frame)\b|\binspect\.(currentframe|stack|getouterframes)|"
            r"\bgc\.get_(objects|referrers)|settrace|gettrace|setprofile|\bf_trace\b|sys\.monitoring|\bsys\.modules\b|"
            r"__closure__|cell_contents|__kwdefaults__|__wrapped__|__globals__|\bctypes\b|"
            r"\btracemalloc\b|"
            r"_allocations\b|\bmemoryview\b"
        ),
        "it inspects its callers or the interpreter",
    ),
    # code compiled under a library's file name passes for the library's, not the student's
    # own (judge_runtime.tracing's own-line limit), and code rewritten at run time is not what ran
    (
        # the builtins called, not a method of that name defined or called (model.eval())
        re.compile(
            r"(?<![\w.])(?<!def )(exec|eval|compile)\s*\(|\bco_filename\b|\b__code__\b|"
            r"\bCodeType\b"
        ),
        "it compiles or rewrites code at run time",
    ),
    # a module named by a computed string, or loaded from a file path, passes by the import
    # pattern above (a compiled copy of a withheld module, a stray installed copy)
    (
        re.compile(
            r"\bimportlib\b|\b__import__\b|\b(Sourceless|Source|Extension)FileLoader\b|"
            r"\bspec_from_file_location\b|\bzipimport\b|\brunpy\b|\bmarshal\b"
        ),
        "it imports modules other than by import statements",
    ),
)


def review_reasons(code: str, withheld: tuple[str, ...] = ()) -> list[str]:
    """Why ``code`` (the graded function and what it calls, :func:`code_reached`) should be
    read by a reviewer, if it should: its code, comments left out, names the judge's runtime
    (``judge_runtime``) or the lab's ``withheld`` modules (file names of helpers), inspects the
    interpreter, or compiles code at run time."""
    names = "|".join(re.escape(Path(name).stem) for name in withheld) or "(?!)"  # none
    code = _without_comments(code)
    return [
        why
        for pattern, why in REVIEW_PATTERNS
        if re.search(pattern.pattern.replace("{withheld}", names), code)
    ]


def code_reached(setup: list[list[str]], function: str, graded_label: str = "") -> str:
    """The code of the student's that the graded ``function`` can reach: its own definition
    and the graded cell's other top-level statements that are not definitions, then every
    definition of the student's cells (``setup``'s, the graded cell last) whose name the code
    so far mentions, until no new name is mentioned. A gradient checker or anything else the
    student wrote but the function never names is not part of it. The graded cell is the one
    labelled ``graded_label`` (by default the last)."""
    definitions: dict[str, list[str]] = {}
    roots: list[str] = []
    for number, (label, code) in enumerate(setup):
        graded = label == graded_label if graded_label else number == len(setup) - 1
        try:
            tree = ast.parse(code)
        except SyntaxError:
            if graded:
                roots.append(code)
            continue
        for node in tree.body:
            segment = ast.get_source_segment(code, node) or ""
            bound = _defined_names(node)
            if graded and (
                function in bound or not bound or isinstance(node, ast.Import | ast.ImportFrom)
            ):
                roots.append(segment)
            for name in bound:
                definitions.setdefault(name, []).append(segment)
    seen: set[str]
    reached, pending, seen = list(roots), list(roots), set()
    while pending:
        for name in _mentioned(pending.pop()) - seen:
            seen.add(name)
            for segment in definitions.get(name, []):
                reached.append(segment)
                pending.append(segment)
    return "\n".join(reached)


def _defined_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return {
        n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }


def _mentioned(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set(re.findall(r"[A-Za-z_]\w*", code))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _without_comments(code: str) -> str:
    """``code`` without its comments (a comment naming a module is not an import of it)."""
    try:
        tokens = [
            t
            for t in tokenize.generate_tokens(io.StringIO(code).readline)
            if t.type != tokenize.COMMENT
        ]
        return tokenize.untokenize(tokens)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return code
