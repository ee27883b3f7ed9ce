"""A synthetic cohort for Lab 3: correct answers in other forms (caches laid out otherwise among
them), one mistake in one function each (the named misconceptions), a layer that raises, and a
blank. Each is the release with every solution cell filled in from the solution, with its
planted edits (labs.cohorts): a mistake costs its own function's test, and nothing else."""

from __future__ import annotations

from labs import cohorts
from labs.cohorts import Submission, fails
from labs.lab3.reference import LAYERS

FIRST_CELL = "affine_forward"
# every layer function's test, then the network's and training's
ALL_TESTS = tuple(f"test_{name}" for name in (*LAYERS, "network", "train"))

CORRECT = (
    Submission("correct", "the instructor's solution"),
    Submission(
        "alternative_forms",
        "correct in other words: np.dot, einsum, np.where, 1 / (1 + exp(-A)), logsumexp by hand",
        edits=(
            ("out = X @ W.T + b", "out = np.dot(X, W.T) + b[None, :]"),
            ("dW = dout.T @ X", "dW = np.einsum('nm,nd->md', dout, X)"),
            ("db = dout.sum(axis=0)", "db = np.ones(len(dout)) @ dout"),
            ("out = np.maximum(A, 0.0)", "out = np.where(A > 0, A, 0.0)"),
            ("out = 0.5 * (1.0 + np.tanh(0.5 * A))", "out = 1 / (1 + np.exp(-A))"),
            ("dA = dout * H * (1.0 - H)", "dA = dout * (H - H ** 2)"),
        ),
    ),
)
# Correct answers in forms the solution does not use, a cache of another layout among them.
FAIRNESS = (
    Submission(
        "fair_relu_mask_cache",
        "relu_forward caches the mask A > 0, and relu_backward multiplies by it",
        edits=(
            ("    cache = A\n", "    cache = A > 0\n"),
            ("    A = cache\n    dA = dout * (A > 0)", "    dA = dout * cache"),
        ),
    ),
    Submission(
        "fair_logistic_input_cache",
        "logistic_forward caches its input, logistic_backward recomputes the output from it",
        edits=(
            ("    cache = out\n", "    cache = A\n"),
            (
                "    H = cache\n",
                "    H = 0.5 * (1.0 + np.tanh(0.5 * cache))\n",
            ),
        ),
    ),
    Submission(
        "fair_train_rebinds",
        "train puts a new array in network.params for each step instead of changing it",
        edits=(
            (
                "network.params[name] -= rate * gradient",
                "network.params[name] = network.params[name] - rate * gradient",
            ),
        ),
    ),
)
MISTAKES = (
    Submission(
        "affine_forward_raises",
        "X @ W instead of X @ W.T: affine_forward raises on every batch with W not square",
        edits=(("out = X @ W.T + b", "out = X @ W + b"),),
        expected_failures=fails("test_affine_forward"),
    ),
    Submission(
        "db_not_summed",
        "db is dout itself, one row per sample",
        edits=(("db = dout.sum(axis=0)", "db = dout"),),
        expected_failures=fails("test_affine_backward"),
        misconception="db_not_summed",
    ),
    Submission(
        "dW_transposed",
        "dW = X.T @ dout, (d, m)",
        edits=(("dW = dout.T @ X", "dW = X.T @ dout"),),
        expected_failures=fails("test_affine_backward"),
        misconception="dW_transposed",
    ),
    Submission(
        "relu_slope_at_kink",
        "ReLU's gradient passed through at A == 0",
        edits=(("dA = dout * (A > 0)", "dA = dout * (A >= 0)"),),
        expected_failures=fails("test_relu_backward"),
        misconception="relu_slope_at_kink",
    ),
    Submission(
        "relu_mask_of_output",
        "relu_forward caches its output; relu_backward masks by cache >= 0",
        edits=(
            ("    cache = A\n", "    cache = out\n"),
            ("dA = dout * (A > 0)", "dA = dout * (A >= 0)"),
        ),
        expected_failures=fails("test_relu_backward"),
        misconception="relu_mask_of_output",
    ),
    Submission(
        "logistic_cache_input",
        "logistic_forward caches its input; logistic_backward reads it as the output",
        edits=(("    cache = out\n", "    cache = A\n"),),
        expected_failures=fails("test_logistic_backward"),
        misconception="logistic_slope_of_input",
    ),
    Submission(
        "softmax_not_shifted",
        "the softmax's shift left out: large scores overflow",
        edits=(
            (
                "shifted = scores - scores.max(axis=1, keepdims=True)",
                "shifted = scores",
            ),
        ),
        expected_failures=fails("test_softmax_cross_entropy"),
        misconception="softmax_overflow",
    ),
    Submission(
        "dscores_not_mean",
        "dscores without the 1/n of the mean",
        edits=(
            (
                "dscores = (np.exp(log_probabilities) - T) / n",
                "dscores = np.exp(log_probabilities) - T",
            ),
        ),
        expected_failures=fails("test_softmax_cross_entropy"),
        misconception="dscores_not_mean",
    ),
    Submission(
        "l2_biases",
        "the biases regularised too",
        edits=(('if name.startswith("W"):', 'if name.startswith(("W", "b")):'),),
        expected_failures=fails("test_l2_penalty"),
        misconception="l2_biases",
    ),
    Submission(
        "l2_factor",
        "the penalty's gradient 2 reg W",
        edits=(("grads[name] = reg * value", "grads[name] = 2 * reg * value"),),
        expected_failures=fails("test_l2_penalty"),
        misconception="l2_factor",
    ),
    Submission(
        "penalty_missing",
        "Network.loss leaves the L2 penalty out",
        edits=(
            (
                "penalty, penalty_grads = l2_penalty(self.params, self.reg)",
                "penalty, penalty_grads = 0.0, {name: 0.0 for name in self.params}",
            ),
        ),
        expected_failures=fails("test_network"),
        misconception="penalty_missing",
    ),
    Submission(
        "activation_on_scores",
        "the activation after the last affine layer too",
        edits=(("if layer < layers:", "if layer <= layers:"),),
        expected_failures=fails("test_network"),
    ),
    Submission(
        "train_ascent",
        "each step goes up the gradient",
        edits=(
            ("network.params[name] -= rate * gradient", "network.params[name] += rate * gradient"),
        ),
        expected_failures=fails("test_train"),
    ),
)
BLANK = Submission(
    "blank",
    "submitted the student version untouched",
    blank=True,
    expected_failures=frozenset(ALL_TESTS),
)
DEMO_COHORT = (*CORRECT, *FAIRNESS, *MISTAKES, BLANK)


write_cohort = cohorts.cohort_writer(DEMO_COHORT, FIRST_CELL)


__all__ = ["ALL_TESTS", "DEMO_COHORT", "write_cohort"]
