"""Find the steps of a student's graded function by what its statements assign, so each step
can be run and judged on its own.

A step is declared by name (``dloss_dy``, ``dloss_dbeta``...). In the student's function, the
statements of a step are the top-level statements of its body that write that name: plain,
tuple, annotated and augmented assignments, several on one line or in any order the data
allow, a loop filling it entry by entry, ``out=`` and the like (:func:`written_names`).
Comments and blank lines play no part: the same code judges the same with or without them.

From the function's syntax tree this module compiles, in the function's own namespace:

* a **recording** copy of the function, which keeps a copy of each declared name right after
  each statement that writes it (so a later in-place change or a reused array never alters
  what a step computed), and
* one **step function** per step the function writes, which runs the body on the true values
  of everything before that step: the given forward values once the statements before the
  first step have run, and the true value of each earlier step in place of the statements
  that compute only earlier steps. Every other statement runs as the student wrote it (a
  helper value computed beside an earlier step is computed from true inputs); one that raises
  without writing the step is passed over. An error in a statement that writes the step is
  the step's own.

A step's value is the one it has right after its last write (its *judge point*). Where its
array went on to become a later step's value (the recording run sees both names holding one
array), the code alone cannot say which step the writes after its last fresh assignment
compute: with steps ``a`` then ``b`` then ``c``, in ``a *= s; b = a`` they are the later
step's, in ``b = a; b *= s; c = b`` the step's own.
Where a step's value equals a later step's (the same array, or a copy of it), the function is
also run with such steps judged right after their last fresh assignment
(:meth:`StepPlan.judge_points`); the judge reads each case one way for every step, the way
under which more steps are right (``helpers.step_verdicts.chosen_reading``).

A step the function never writes has no step function; the caller judges the returned
gradients instead.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

STEPS_FILE = "<your function, step by step>"  # what the step functions are compiled as
RECORDING = "_course_recording_"
STEP_FUNCTION = "_course_step_{name}_"
TRUE_VALUE = "_course_true_"  # the step function's parameter: name -> a fresh true value
RECORD = "_course_record_"  # both functions' parameter: (names, locals()) -> None
FAILED = "_course_failed_"  # the step function's parameter: (error, writes the step) -> None
_NESTED_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def written_names(statement: ast.stmt) -> frozenset[str]:
    """The names of the function's own scope that ``statement`` may write or change in place:
    assignment targets (a subscript or attribute target changes its base name), loop and
    ``with`` targets, ``out=`` arguments, and the arrays a bare call statement is given or
    called on (``np.copyto(a, b)``, ``a.fill(0)``); not ``del`` (it writes no value). Names
    inside nested functions, classes, lambdas and comprehensions are their own scope's."""
    names: set[str] = set()

    def base(node: ast.expr) -> None:
        while isinstance(node, ast.Subscript | ast.Attribute | ast.Starred):
            node = node.value
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Tuple | ast.List):
            for element in node.elts:
                base(element)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                base(target)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor):
            base(node.target)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "out":
                    base(keyword.value)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value
            if isinstance(call.func, ast.Attribute):
                base(call.func.value)
            for argument in call.args:
                if isinstance(argument, ast.Name | ast.Subscript | ast.Attribute):
                    base(argument)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            return
        if isinstance(node, _NESTED_SCOPES):
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(statement)
    return frozenset(names)


@dataclass(frozen=True)
class StepPlan:
    """One graded function's statements, what each writes, and its declared names.

    ``steps`` are the declared steps in chain order; ``forward`` the given forward values
    (their true values are known before any step); ``writes[i]`` what statement ``i`` of
    ``node.body`` writes; ``prefix`` how many statements come before the first that writes a
    step."""

    node: ast.FunctionDef
    steps: tuple[str, ...]
    forward: tuple[str, ...]
    writes: tuple[frozenset[str], ...]
    prefix: int
    local_names: frozenset[str]

    @property
    def written_steps(self) -> tuple[str, ...]:
        """The steps some statement of the function writes, in chain order."""
        return tuple(name for name in self.steps if self.last_write(name) is not None)

    def last_write(self, name: str) -> int | None:
        """The index of the last statement that writes ``name``; None when none does."""
        found = [i for i, names in enumerate(self.writes) if name in names]
        return found[-1] if found else None

    def last_fresh_assignment(self, name: str) -> int | None:
        """The index of the last statement that binds ``name`` to a new value (a plain or
        tuple assignment to the name itself, not an in-place change); None when none does."""
        found = [
            i for i, statement in enumerate(self.node.body) if name in _rebound_names(statement)
        ]
        return found[-1] if found else None

    def judge_points(self, aliased: frozenset[str] = frozenset()) -> dict[str, int]:
        """Each written step's judge point: the statement right after which its value is
        taken. Its last write, or for a step in ``aliased`` (its array went on to become a
        later step's), its last fresh assignment before that."""
        points: dict[str, int] = {}
        for name in self.written_steps:
            last = cast(int, self.last_write(name))  # a written step's: never None
            fresh = self.last_fresh_assignment(name) if name in aliased else None
            points[name] = fresh if fresh is not None and fresh <= last else last
        return points

    def recording_function(self) -> ast.Module:
        """``def _course_recording_(<the function's parameters>, *, _course_record_)``: the
        function as written, calling ``_course_record_(index, names, locals())`` right after
        each statement ``index`` that writes declared ``names``."""
        declared = (*self.forward, *self.steps)
        body: list[ast.stmt] = []
        for index, statement in enumerate(self.node.body):
            body.append(statement)
            written = [name for name in declared if name in self.writes[index]]
            if written:
                body.append(
                    _call_statement(
                        RECORD,
                        ast.Constant(index),
                        ast.Constant(tuple(written)),  # type: ignore[arg-type]  # a tuple compiles
                        _locals(),
                    )
                )
        return self._module(RECORDING, body, (RECORD,))

    def step_function(self, name: str, points: dict[str, int]) -> ast.Module:
        """``def _course_step_<name>_(<parameters>, *, _course_true_, _course_record_,
        _course_failed_)``: the body run on the true values of everything before step
        ``name`` (see the module's docstring), returning right after its judge point
        (``points``: :meth:`judge_points`)."""
        if name not in points:
            raise ValueError(f"the function never writes {name}")
        earlier = set(self.steps[: self.steps.index(name)])
        given = [n for n in self.forward if n in self.local_names]
        body: list[ast.stmt] = []
        for index, statement in enumerate(self.node.body[: points[name] + 1]):
            writes = self.writes[index]
            # earlier steps this statement computes (not one it changes past its judge point:
            # that change is part of a later step)
            computes = {n for n in writes & earlier if index <= points.get(n, -1)}
            if index == self.prefix:  # the forward pass is done: its true values from here
                body += [_bind_true(n) for n in (*given, *sorted(earlier & self.local_names))]
            if index >= self.prefix and writes and writes == computes:
                continue  # computes only earlier steps, whose true values are bound
            body.append(_guarded(statement, stop=name in writes))
            body += [_bind_true(n) for n in sorted(computes)]
        body.append(
            _call_statement(
                RECORD,
                ast.Constant(points[name]),
                ast.Constant((name,)),  # type: ignore[arg-type]  # a tuple compiles
                _locals(),
            )
        )
        return self._module(STEP_FUNCTION.format(name=name), body, (TRUE_VALUE, RECORD, FAILED))

    def _module(
        self, function_name: str, body: list[ast.stmt], keywords: tuple[str, ...]
    ) -> ast.Module:
        node = copy.copy(self.node)
        node.name = function_name
        node.decorator_list = []
        node.returns = None
        node.args = copy.copy(node.args)
        node.args.kwonlyargs = [*node.args.kwonlyargs, *(ast.arg(k) for k in keywords)]
        node.args.kw_defaults = [*node.args.kw_defaults, *(None for _ in keywords)]
        # The function's own local names stay local, whatever statements were left out (a
        # name read before its assignment fails as in the student's run, never reads a
        # notebook variable of the same name).
        keep_local: list[ast.expr] = [ast.Name(n, ast.Store()) for n in sorted(self.local_names)]
        never = (
            [ast.If(ast.Constant(False), [ast.Assign(keep_local, ast.Constant(None))], [])]
            if keep_local
            else []
        )
        node.body = [*copy.deepcopy(body), *never] or [ast.Pass()]
        module = ast.Module([node], type_ignores=[])
        return ast.fix_missing_locations(module)


def _rebound_names(statement: ast.stmt) -> set[str]:
    """The names a top-level assignment binds to a new value: ``a = ...``, ``a, b = ...``,
    ``a: T = ...`` (not ``a += ...`` or ``a[i] = ...``, which change the value in place)."""
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = list(statement.targets)
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        targets = [statement.target]
    names: set[str] = set()
    while targets:
        target = targets.pop()
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Tuple | ast.List):
            targets += target.elts
        elif isinstance(target, ast.Starred):
            targets.append(target.value)
    return names


def _locals() -> ast.Call:
    return ast.Call(ast.Name("locals", ast.Load()), [], [])


def _call_statement(function: str, *arguments: ast.expr) -> ast.Expr:
    return ast.Expr(ast.Call(ast.Name(function, ast.Load()), list(arguments), []))


def _bind_true(name: str) -> ast.Assign:
    """``name = _course_true_("name")``."""
    call = ast.Call(ast.Name(TRUE_VALUE, ast.Load()), [ast.Constant(name)], [])
    return ast.Assign([ast.Name(name, ast.Store())], call)


def _guarded(statement: ast.stmt, stop: bool) -> ast.Try:
    """``statement`` in ``try``: what it raises goes to ``_course_failed_(error, stop)``, and
    the step function returns when ``stop`` (the statement writes the judged step)."""
    error = "_course_error_"
    handler_body: list[ast.stmt] = [
        _call_statement(FAILED, ast.Name(error, ast.Load()), ast.Constant(stop))
    ]
    if stop:
        handler_body.append(ast.Return(ast.Constant(None)))
    handler = ast.ExceptHandler(ast.Name("BaseException", ast.Load()), error, handler_body)
    located = ast.copy_location(ast.Try([statement], [handler], [], []), statement)
    for node in (handler, *handler_body):
        ast.copy_location(node, statement)
    return located


def _normalised(node: ast.FunctionDef, declared: set[str]) -> ast.FunctionDef:
    """The function as the plan reads it: declared names never ``global`` or ``nonlocal``
    (a step left in the notebook's namespace is still the function's value), and a top-level
    ``with`` block without ``as`` that writes several declared names split into one block per
    statement (``with np.errstate(...):`` around the whole body), so each step is its own."""
    node = copy.deepcopy(node)

    class Undeclare(ast.NodeTransformer):
        def visit_FunctionDef(self, inner):  # nested scopes keep their own declarations
            return inner if inner is not node else self.generic_visit(inner)

        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_ClassDef(self, inner):
            return inner

        def visit_Global(self, statement):
            statement.names = [n for n in statement.names if n not in declared]
            return statement if statement.names else ast.copy_location(ast.Pass(), statement)

        visit_Nonlocal = visit_Global

    Undeclare().visit(node)
    body: list[ast.stmt] = []
    for statement in node.body:
        if (
            isinstance(statement, ast.With)
            and len(statement.body) > 1
            and all(item.optional_vars is None for item in statement.items)
            and sum(bool(written_names(s) & declared) for s in statement.body) > 1
        ):
            body += [
                ast.copy_location(ast.With(statement.items, [inner]), inner)
                for inner in statement.body
            ]
        else:
            body.append(statement)
    node.body = body
    return node


def _function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    found = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name]
    return found[-1] if found else None


def _local_names(node: ast.FunctionDef) -> frozenset[str]:
    """The local variables of the function ``node`` defines (its parameters excluded)."""
    module = ast.Module([copy.deepcopy(node)], type_ignores=[])
    code = compile(module, "<function>", "exec")
    function_code = next(c for c in code.co_consts if hasattr(c, "co_varnames"))
    parameters = function_code.co_varnames[
        : function_code.co_argcount + function_code.co_kwonlyargcount
    ]
    names = set(function_code.co_varnames) | set(function_code.co_cellvars)
    return frozenset(n for n in names - set(parameters) if n.isidentifier())


def split_steps(
    cell_source: str, function: str, steps: tuple[str, ...], forward: tuple[str, ...] = ()
) -> StepPlan | None:
    """The plan of ``function`` (the last top-level definition of it in ``cell_source``) for
    the declared ``steps`` (chain order) and ``forward`` values; None when the source does
    not parse or has no such function."""
    try:
        tree = ast.parse(cell_source)
    except SyntaxError:
        return None
    node = _function(tree, function)
    if node is None or not node.body:
        return None
    node = _normalised(node, {*steps, *forward})
    writes = tuple(written_names(statement) for statement in node.body)
    prefix = next((i for i, names in enumerate(writes) if names & set(steps)), len(writes))
    try:
        local_names = _local_names(node)
    except SyntaxError:
        return None
    return StepPlan(node, tuple(steps), tuple(forward), writes, prefix, local_names)


class JudgedFunctions:
    """A plan's functions, compiled in the graded function's namespace as ``filename``: the
    recording copy, and each step's function for given judge points (compiled when first
    asked for). A function whose code does not compile (a ``global`` statement moved past a
    use, say) is None."""

    def __init__(self, plan: StepPlan, filename: str, namespace: dict):
        self.plan = plan
        self.filename = filename
        self.namespace = namespace
        self.recording = self._define(plan.recording_function(), RECORDING)
        self._steps: dict[tuple, Callable | None] = {}

    def step(self, name: str, points: dict[str, int]) -> Callable | None:
        """Step ``name``'s function for judge ``points``; None when it never writes it."""
        if name not in points:
            return None
        key = (name, tuple(sorted(points.items())))
        if key not in self._steps:
            self._steps[key] = self._define(
                self.plan.step_function(name, points), STEP_FUNCTION.format(name=name)
            )
        return self._steps[key]

    def _define(self, module: ast.Module, defined: str) -> Callable | None:
        try:
            exec(compile(module, self.filename, "exec"), self.namespace)
        except SyntaxError:
            return None
        return self.namespace.pop(defined)


def compile_plan(plan: StepPlan, filename: str, namespace: dict) -> JudgedFunctions:
    """The plan's functions (:class:`JudgedFunctions`), defined in ``namespace`` (the graded
    function's globals) and compiled as ``filename``."""
    return JudgedFunctions(plan, filename, namespace)
