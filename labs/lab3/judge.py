"""Lab 3's part of the trusted judge: every function it grades judged apart, each in a sandbox
of its own (``labs.probe_judge``), on the hidden cases of ``labs/lab3/hidden.py`` against the
graders' analytic answers (``labs/lab3/truths.py``).

A backward function is called with the cache its student's own forward function makes. The
network is judged with the graders' layers in place of the student's, and training with the
graders' network (``labs/lab3/reference.py``, sent to those two sandboxes as trusted code:
it is never in the package students install): so a mistake in one layer costs that layer's
test only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from helpers import layer_calls, layers_check
from labs.backprop_judge import WITHHELD_HELPERS
from labs.lab3 import hidden, reference, truths
from labs.probe_judge import ProbeJudge

# Every helpers module that holds an answer is withheld from every sandbox of the lab's.
WITHHELD = WITHHELD_HELPERS
# What the sandboxes that need them run as trusted code: the network's gets the graders' layers
# only (with the graders' network there, a student's Network could hand back its answers), the
# training's the layers and the network.
LAYERS_CODE = "\n\n".join(
    [
        "import numpy as np\nfrom collections import Counter\n\nCALLS = Counter()",
        *(
            inspect.getsource(getattr(reference, name))
            for name in ("weight_names", *reference.LAYERS)
        ),
    ]
)
TRUSTED_LAYERS = ("<the graders' layers>", LAYERS_CODE)
TRUSTED_NETWORK = ("<the graders' layers and network>", inspect.getsource(reference))


def _judge(
    function: str,
    check: Callable,
    probe: str,
    cases: Callable[[int], list[dict]],
    **more,
) -> ProbeJudge:
    return ProbeJudge(
        function,
        check,
        ("helpers.layer_calls", probe),
        cases,
        truths.training_problem if function == "train" else truths.problem(function),
        lambda case: f"on a hidden case ({layers_check.describe_case(function, case)})",
        WITHHELD,
        mistake=lambda case, answer: _named(function, case, answer),
        misconceptions=truths.misconceptions(function),
        answers_exact=function != "train",
        **more,
    )


def _named(function: str, case: dict, answer: dict) -> str | None:
    mistake = truths.mistake_of(function, case, answer) if function != "train" else None
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
        trusted=TRUSTED_LAYERS,
        substitutes=reference.LAYERS,
        suspicious=layers_check.differentiated_numerically,
    ),
    _judge(
        "train",
        layers_check.check_train,
        "call_train",
        hidden.hidden_training_cases,
        trusted=TRUSTED_NETWORK,
        private=layers_check.sent_training_case,
    ),
)
