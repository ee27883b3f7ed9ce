"""Lab 3's part of the trusted judge: every function it grades judged apart, each in a sandbox
of its own (``labs.probe_judge``), on the hidden cases of ``labs/lab3/hidden.py`` against the
graders' answers (``helpers.layers_check``).

A backward function is called with the cache its student's own forward function makes. The
network is judged with the graders' layers in place of the student's, and training with the
graders' network: so a mistake in one layer costs that layer's test only.
"""

from __future__ import annotations

from collections.abc import Callable

from course.misconceptions import Misconception
from helpers import layer_calls, layers_check, layers_reference
from labs.backprop_judge import WITHHELD_HELPERS
from labs.lab3 import hidden
from labs.probe_judge import ProbeJudge

# A layer's judge withholds every module that holds an answer; the network's judge needs the
# graders' layers (they stand in for the student's), the training judge their network too.
WITHHELD = WITHHELD_HELPERS
NETWORK_NEEDS = ("layers_reference.py",)
TRAINING_NEEDS = ("layers_reference.py", "network_reference.py", "training_calls.py")


def _misconceptions(function: str) -> tuple[Misconception, ...]:
    return tuple(
        Misconception(mistake.key, function, lambda inputs: None, mistake.question)
        for mistake in layers_check.MISTAKES
        if mistake.function == function
    )


def _judge(
    function: str,
    check: Callable,
    probe: str,
    cases: Callable[[int], list[dict]],
    withheld: tuple[str, ...] = WITHHELD,
    **more,
) -> ProbeJudge:
    module = "helpers.training_calls" if probe == "call_train" else "helpers.layer_calls"
    return ProbeJudge(
        function,
        check,
        (module, probe),
        cases,
        layers_check.training_problem
        if function == "train"
        else lambda case, answer, which: layers_check.problem_of(function, case, answer, which),
        lambda case: f"on a hidden case ({layers_check.describe_case(function, case)})",
        withheld,
        mistake=lambda case, answer: _named(function, case, answer),
        misconceptions=_misconceptions(function),
        answers_exact=function != "train",
        **more,
    )


def _named(function: str, case: dict, answer: dict) -> str | None:
    mistake = layers_check.mistake_of(function, case, answer)
    return mistake.key if mistake else None


def _forward(layer: str) -> ProbeJudge:
    return _judge(
        f"{layer}_forward",
        getattr(layers_check, f"check_{layer}_forward"),
        "call_forward",
        hidden.hidden_layer_cases(layer),
    )


def _backward(layer: str) -> ProbeJudge:
    return _judge(
        f"{layer}_backward",
        getattr(layers_check, f"check_{layer}_backward"),
        "probe_backward",
        hidden.hidden_layer_cases(layer),
        uses=(f"{layer}_forward",),
        unsure=_no_own_cache(layer),
    )


def _no_own_cache(layer: str) -> Callable[[dict, dict], str | None]:
    """Why a backward function's wrong answer may be its forward's fault: the forward raised,
    so the backward was given the cache the notebook names, which its own forward may lay out
    otherwise."""

    def unsure(case: dict, answer: dict) -> str | None:
        if answer.get("own_cache") is False:
            return (
                f"{layer}_forward raised on a hidden case, so {layer}_backward was given the "
                "cache the notebook names, which your own forward may lay out otherwise"
            )
        return None

    return unsure


def _layer_judges(layer: str) -> tuple[ProbeJudge, ProbeJudge]:
    return _forward(layer), _backward(layer)


def _without(needs: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in WITHHELD if name not in needs)


JUDGES = (
    *(
        judge
        for layer in layer_calls.LAYER_ARGUMENTS
        for judge in (_forward(layer), _backward(layer))
    ),
    _judge(
        "softmax_cross_entropy",
        layers_check.check_softmax_cross_entropy,
        "call_loss",
        hidden.hidden_loss_cases,
    ),
    _judge(
        "l2_penalty", layers_check.check_l2_penalty, "call_penalty", hidden.hidden_penalty_cases
    ),
    _judge(
        "Network",
        layers_check.check_network,
        "call_network",
        hidden.hidden_network_cases,
        _without(NETWORK_NEEDS),
        substitutes=("helpers.layers_reference", layers_reference.LAYERS),
        suspicious=layers_check.differentiated_numerically,
    ),
    _judge(
        "train",
        layers_check.check_train,
        "call_train",
        hidden.hidden_training_cases,
        _without(TRAINING_NEEDS),
        private=layers_check.sent_training_case,
    ),
)
