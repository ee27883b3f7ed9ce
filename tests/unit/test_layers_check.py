"""Lab 3's checks are right before they judge anyone: the graders' layers and network agree
with central differences, and so do the visible tests' truths (by central differences, in the
students' package) with the judge's (analytic, instructor-only); the solution's answers pass
and every known mistake is caught and named; a right ``train`` clears the validation
threshold with a margin on every draw, and each mistake in it is told apart."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from helpers import layer_calls, layers_check, layers_numerical
from helpers.gradcheck import numerical_gradient
from helpers.step_verdicts import step_errors
from labs.lab3 import reference, truths

RNG_SEEDS = range(5)


def _numerical(f, x):
    return numerical_gradient(lambda _: f(), x)


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_the_graders_layers_agree_with_central_differences(seed):
    rng = np.random.default_rng(seed)
    for layer in layer_calls.LAYER_ARGUMENTS:
        for case in layer_calls.layer_cases(layer, rng):
            dout = case["dout"]
            forward = getattr(reference, f"{layer}_forward")
            backward = getattr(reference, f"{layer}_backward")
            arguments = [case[name] for name in layer_calls.LAYER_ARGUMENTS[layer]]
            _, cache = forward(*arguments)
            analytic = backward(dout, cache)
            analytic = analytic if isinstance(analytic, tuple) else (analytic,)
            for argument, gradient in zip(arguments, analytic, strict=True):
                if layer == "relu":  # not differentiable at its kink: judged off it
                    argument[argument == 0] = 0.5
                    gradient = backward(dout, forward(*arguments)[1])
                numerical = _numerical(
                    lambda f=forward, a=arguments, d=dout: float(np.sum(f(*a)[0] * d)), argument
                )
                assert np.max(step_errors(numerical, gradient)) < 1e-6, layer
    for case in layer_calls.loss_cases(rng)[:-1]:
        _, dscores = reference.softmax_cross_entropy(case["scores"], case["T"])
        numerical = _numerical(
            lambda c=case: reference.softmax_cross_entropy(c["scores"], c["T"])[0], case["scores"]
        )
        assert np.max(step_errors(numerical, dscores)) < 1e-6


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_the_graders_network_agrees_with_central_differences(seed):
    rng = np.random.default_rng(seed)
    architectures = (
        ((3, 4, 2), "logistic", 0.1),
        ((2, 5, 4, 3), "relu", 0.03),
        ((4, 3), "relu", 0.2),
    )
    for case in layer_calls.network_cases(architectures, rng):
        params = layer_calls.parameters_of(case)
        _, grads = reference.network_loss(
            params, case["activation"], case["reg"], case["X"], case["T"]
        )
        for name, value in params.items():
            numerical = _numerical(
                lambda p=params, c=case: reference.network_loss(
                    p, c["activation"], c["reg"], c["X"], c["T"]
                )[0],
                value,
            )
            assert np.max(step_errors(numerical, grads[name])) < 1e-6, name


def _reference_answer(function: str, case: dict) -> dict:
    if function == "Network":
        return layer_calls.call_network(reference.ReferenceNetwork, case)
    if function == "softmax_cross_entropy":
        return layer_calls.call_loss(reference.softmax_cross_entropy, case)
    if function == "l2_penalty":
        return layer_calls.call_penalty(reference.l2_penalty, case)
    layer, kind = function.rsplit("_", 1)
    forward = getattr(reference, f"{layer}_forward")
    if kind == "forward":
        return layer_calls.call_forward(forward, case)
    return layer_calls.call_backward(getattr(reference, function), case, forward)


def _cases(function: str, rng) -> list[dict]:
    if function == "Network":
        return layer_calls.network_cases(layers_check.VISIBLE_ARCHITECTURES, rng)
    if function == "softmax_cross_entropy":
        return layer_calls.loss_cases(rng)
    if function == "l2_penalty":
        return layer_calls.penalty_cases(rng)
    return layer_calls.layer_cases(function.rsplit("_", 1)[0], rng)


@pytest.mark.parametrize("function", layers_check.OUTPUTS)
def test_the_graders_answers_pass(function):
    for case in _cases(function, np.random.default_rng(7)):
        answer = _reference_answer(function, case)
        assert answer["error"] is None
        assert (
            layers_check.problem_of(function, case, answer, truths.true_outputs(function, case))
            is None
        )


@pytest.mark.parametrize("mistake", truths.MISTAKES, ids=lambda m: m.key)
def test_every_known_mistake_fails_and_is_named_without_the_answer(mistake):
    case = _cases(mistake.function, np.random.default_rng(3))[-1]  # the large inputs' case
    answer = _reference_answer(mistake.function, case)
    if mistake.key == "softmax_overflow":
        answer = {**answer, "loss": float("inf")}
    elif mistake.key == "logistic_overflow":
        out = np.array(answer["out"])
        out[np.abs(case["A"]) > 700] = np.nan  # inf / inf
        answer = {**answer, "out": out.tolist()}
    else:
        wrong = mistake.wrong(case)
        answer.update(
            {
                name: {k: np.asarray(v).tolist() for k, v in value.items()}
                if isinstance(value, dict)
                else np.asarray(value).tolist()
                for name, value in wrong.items()
            }
        )
    problem = truths.problem(mistake.function)(case, answer, "a")
    assert problem and mistake.question in problem
    assert truths.mistake_of(mistake.function, case, answer) == mistake


def _train(network, X, T, batch_size, rate, n_epochs, rng):
    losses = []
    for _ in range(n_epochs):
        order = rng.permutation(len(X))
        batch_losses = []
        for start in range(0, len(X), batch_size):
            batch = order[start : start + batch_size]
            loss, grads = network.loss(X[batch], T[batch])
            for name, gradient in grads.items():
                network.params[name] -= rate * gradient
            batch_losses.append(loss)
        losses.append(np.mean(batch_losses))
    return losses


def _validation_accuracy(case: dict, answer: dict) -> float:
    params = {name: np.array(value) for name, value in answer["params"].items()}
    return reference.accuracy(params, case["activation"], case["X_val"], case["T_val"])


def test_a_right_train_clears_the_threshold_on_every_draw_and_one_that_does_nothing_fails():
    """Measured over 200 draws: a right train's worst validation accuracy is 0.97; one epoch,
    or one batch an epoch, reaches 0.68 and 0.77 on average (0.91 and 0.92 at best)."""
    worst = 1.0
    for seed in range(8):
        for case in layers_check.training_cases(np.random.default_rng(seed)):
            answer = layer_calls.call_train(
                _train, layers_check.sent_training_case(case), reference.ReferenceNetwork
            )
            assert truths.training_problem(case, answer) is None
            worst = min(worst, _validation_accuracy(case, answer))
            idle = layer_calls.call_train(
                lambda *a: None, layers_check.sent_training_case(case), reference.ReferenceNetwork
            )
            assert "0 samples in" in (truths.training_problem(case, idle) or "")
    assert worst >= layers_check.VALIDATION_THRESHOLD + 0.02


def _solution_train() -> str:
    import nbformat

    from tests.support.paths import ROOT

    notebook = nbformat.read(ROOT / "source" / "lab3" / "layers.ipynb", as_version=4)
    cell = next(
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "train"
    )
    return "\n".join(
        line for line in cell.source.splitlines() if "### " not in line
    )  # the solution's markers


def _train_from(code: str):
    namespace: dict = {"np": np}
    exec(code, namespace)
    return namespace["train"]


RIGHT_FORMS = {
    "weighted_mean": (
        "losses.append(float(np.mean(batch_losses)))",
        "losses.append(float(np.average(batch_losses, weights=[len(o) for o in "
        "np.array_split(order, range(batch_size, len(X), batch_size))])))",
    ),
    "choice_without_replacement": (
        "order = rng.permutation(len(X))",
        "order = rng.choice(len(X), size=len(X), replace=False)",
    ),
    "rows_sorted_in_each_batch": (
        "batch = order[start:start + batch_size]",
        "batch = np.sort(order[start:start + batch_size])",
    ),
    "loss_reported_first": (
        "    losses = []\n    for epoch",
        "    losses = []\n    network.loss(X, T)  # the starting loss, looked at\n    for epoch",
    ),
}
MISTAKES = {
    "rate_ignored": ("-= rate * gradient", "-= gradient", "Where does rate come in?"),
    "half_the_data": (
        "range(0, len(X), batch_size)",
        "range(0, len(X) // 2, batch_size)",
        "320 an epoch",
    ),
    "not_shuffled": (
        "order = rng.permutation(len(X))",
        "order = np.arange(len(X))",
        "fresh random order",
    ),
    "last_loss_returned": (
        "losses.append(float(np.mean(batch_losses)))",
        "losses.append(loss)",
        "other losses than the mean",
    ),
    "one_batch_size": (
        "batch = order[start:start + batch_size]",
        "batch = order[start:start + 2 * batch_size]",
        "an epoch",
    ),
}


@pytest.mark.parametrize("form", RIGHT_FORMS, ids=str)
def test_a_right_train_in_another_form_passes(form):
    old, new = RIGHT_FORMS[form]
    code = _solution_train()
    assert old in code
    train = _train_from(code.replace(old, new))
    case = layers_check.training_cases(np.random.default_rng(11))[0]
    answer = layer_calls.call_train(
        train, layers_check.sent_training_case(case), reference.ReferenceNetwork
    )
    assert answer["error"] is None
    assert truths.training_problem(case, answer) is None


@pytest.mark.parametrize("mistake", MISTAKES, ids=str)
def test_a_train_with_one_mistake_fails_saying_what(mistake):
    old, new, said = MISTAKES[mistake]
    code = _solution_train()
    assert old in code
    train = _train_from(code.replace(old, new))
    case = layers_check.training_cases(np.random.default_rng(11))[0]
    answer = layer_calls.call_train(
        train, layers_check.sent_training_case(case), reference.ReferenceNetwork
    )
    problem = truths.training_problem(case, answer)
    assert problem and said in problem, problem


@pytest.mark.parametrize("function", layers_check.OUTPUTS)
def test_the_visible_tests_truths_are_the_judges(function):
    """In the kernel the truths come from central differences, in the judge from the graders'
    analytic layers: on every case they agree far within the visible test's tolerance."""
    for seed in range(3):
        for case in _cases(function, np.random.default_rng(seed)):
            numerical = layers_check.flat_outputs(layers_numerical.true_outputs(function, case))
            analytic = layers_check.flat_outputs(truths.true_outputs(function, case))
            for name, value in analytic.items():
                if name.split("[")[0] not in layers_check.OUTPUTS[function]:
                    continue
                errors = step_errors(value, numerical[name])
                allowed = (
                    layers_check.VISIBLE_NETWORK_TOLERANCE
                    if function == "Network"
                    else layers_check.TOLERANCE
                )
                assert np.max(errors, initial=0.0) < allowed / 10, (name, case)


def test_the_visible_train_check_passes_a_right_train_and_fails_one_that_ignores_rate():
    layers_check.check_train(_train, seed=0)
    code = _solution_train().replace("-= rate * gradient", "-= gradient")
    with pytest.raises(AssertionError, match="Where does rate come in"):
        layers_check.check_train(_train_from(code), seed=0)


def test_parameters_that_the_record_s_batches_do_not_give_fail():
    """The record is made where the student's code runs: the judge replays its batches with
    the graders' network, and the parameters train left must be where they lead."""
    case = layers_check.training_cases(np.random.default_rng(5))[0]
    answer = layer_calls.call_train(
        _train, layers_check.sent_training_case(case), reference.ReferenceNetwork
    )
    assert truths.training_problem(case, answer) is None
    swapped = copy.deepcopy(answer)
    swapped["batches"][0], swapped["batches"][1] = swapped["batches"][1], swapped["batches"][0]
    assert "does not give" in truths.training_problem(case, swapped)
