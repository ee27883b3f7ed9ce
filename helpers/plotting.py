"""Plots for the labs: class scatter, loss curve and decision regions.

Each function draws on the Axes it is given (or a new figure's), returns that Axes, and works
headless: outside Jupyter, matplotlib falls back to the Agg backend by itself when there is no
display.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

# Colour-blind-safe class colours (Okabe & Ito); probabilities blend them. Ordered so that the
# first three stay apart as pale region shades too (green's shade is close to blue's).
CLASS_COLOURS = np.array(
    [
        [0.000, 0.447, 0.698],  # blue
        [0.902, 0.624, 0.000],  # orange
        [0.800, 0.475, 0.655],  # purple
        [0.000, 0.620, 0.451],  # green
        [0.835, 0.369, 0.000],  # vermilion
        [0.337, 0.706, 0.914],  # sky blue
        [0.941, 0.894, 0.259],  # yellow
    ]
)
PROBABILITY_SUM_TOLERANCE = 1e-6
POINT_EDGE = "#1a1a1a"  # near black: contrast over 10:1 with any region's shading
LINE_STYLES = ("-", "--", ":", "-.")


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    return ax


def class_colours(n_classes: int) -> np.ndarray:
    """RGB colours of the classes, shape (n_classes, 3)."""
    if n_classes > len(CLASS_COLOURS):
        raise ValueError(f"at most {len(CLASS_COLOURS)} classes can be coloured, got {n_classes}")
    return CLASS_COLOURS[:n_classes]


def as_class_probabilities(labels, n_points: int, n_classes: int) -> np.ndarray:
    """Turn any accepted form of labels into class-probability rows, shape (n_points, n_classes).

    Accepted: class indices, shape (n_points,); one-hot or probability rows, shape
    (n_points, n_classes); or a sequence of n_points 1-D probability arrays.
    Raises ValueError, saying what was expected, for anything else.
    """
    if isinstance(labels, Sequence) and len(labels) and np.ndim(labels[0]) == 1:
        labels = np.stack([np.asarray(row, dtype=np.float64) for row in labels])
    labels = np.asarray(labels)
    if len(labels) != n_points:
        raise ValueError(
            f"labels has {len(labels)} rows but the data set has {n_points} points; "
            "give one label (or one row of class probabilities) per point"
        )
    if labels.ndim == 1:
        if not np.issubdtype(labels.dtype, np.number) or np.any(labels != np.round(labels)):
            raise ValueError("1-D labels must be whole class indices")
        if labels.min() < 0 or labels.max() >= n_classes:
            raise ValueError(
                f"class indices must lie in 0..{n_classes - 1}, got {labels.min()}..{labels.max()}"
            )
        return np.eye(n_classes)[labels.astype(int)]
    if labels.ndim != 2 or labels.shape[1] != n_classes:
        raise ValueError(
            f"labels of shape {labels.shape} do not fit: expected ({n_points},) class indices "
            f"or ({n_points}, {n_classes}) one-hot or probability rows"
        )
    probabilities = labels.astype(np.float64)
    if not np.all(np.isfinite(probabilities)) or np.any(probabilities < 0):
        raise ValueError("probability rows must be finite and non-negative")
    if np.any(np.abs(probabilities.sum(axis=1) - 1.0) > PROBABILITY_SUM_TOLERANCE):
        raise ValueError(
            "each row of labels must sum to 1 (one-hot or class probabilities, e.g. softmax "
            "outputs), not raw scores"
        )
    return probabilities


def blend(probabilities: np.ndarray) -> np.ndarray:
    """Colours of probability rows: the class colours mixed in proportion, shape (n, 3)."""
    return np.clip(probabilities @ class_colours(probabilities.shape[1]), 0.0, 1.0)


def scatter_classes(X: np.ndarray, probabilities: np.ndarray, ax=None, size: float = 12.0):
    """Scatter 2-D points coloured by class.

    Args:
        X: points, shape (n, 2).
        probabilities: one-hot or class-probability rows, shape (n, n_classes).
        ax: Axes to draw on; a new figure when None.
        size: marker area.

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    # A dark rim sets every point off from the pale regions behind it, of whatever class.
    ax.scatter(
        X[:, 0], X[:, 1], c=blend(probabilities), s=size, edgecolors=POINT_EDGE, linewidths=0.6
    )
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    # Beside the plot, never over a point (Jupyter's figures are cropped to what is drawn).
    ax.legend(
        handles=class_legend(probabilities.shape[1]),
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        fontsize="small",
    )
    return ax


def class_legend(n_classes: int) -> list[Line2D]:
    """Legend entries naming each class by its colour ("class 0", ...): a point drawn in a
    mixture of colours is a network unsure between those classes."""
    return [
        Line2D(
            [],
            [],
            linestyle="none",
            marker="o",
            markerfacecolor=colour,
            markeredgecolor=POINT_EDGE,
            label=f"class {c}",
        )
        for c, colour in enumerate(class_colours(n_classes))
    ]


def plot_loss(losses: Sequence[float], ax=None, label: str | None = None):
    """Plot a loss curve, one value per epoch.

    Args:
        losses: the loss after each epoch.
        ax: Axes to draw on; a new figure when None.
        label: legend label, if any.

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    # Curves on one Axes differ in line style as well as colour, so they can be told apart
    # without colour vision and in print.
    style = LINE_STYLES[len(ax.get_lines()) % len(LINE_STYLES)]
    ax.plot(np.arange(len(losses)), np.asarray(losses, dtype=np.float64), style, label=label)
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Loss")
    if label:
        ax.legend()
    return ax


def plot_decision_regions(
    predict: Callable[[np.ndarray], np.ndarray],
    ax=None,
    bounds: tuple[float, float, float, float] = (-1.2, 1.2, -1.2, 1.2),
    resolution: int = 200,
    alpha: float = 0.35,
):
    """Shade the plane by a classifier's output, behind whatever the Axes already shows.

    Args:
        predict: maps points of shape (m, 2) to class probabilities of shape (m, n_classes).
        ax: Axes to draw on; a new figure when None.
        bounds: (x_min, x_max, y_min, y_max) of the shaded area.
        resolution: grid points per side.
        alpha: opacity of the shading.

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    x_min, x_max, y_min, y_max = bounds
    xs = np.linspace(x_min, x_max, resolution)
    ys = np.linspace(y_min, y_max, resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    outputs = np.asarray(predict(grid), dtype=np.float64)
    if outputs.ndim != 2 or outputs.shape[0] != len(grid):
        raise ValueError(
            f"predict must return class probabilities of shape ({len(grid)}, n_classes) for "
            f"{len(grid)} points, got shape {outputs.shape}"
        )
    probabilities = as_class_probabilities(outputs, len(grid), outputs.shape[1])
    image = blend(probabilities).reshape(resolution, resolution, 3)
    ax.imshow(image, origin="lower", extent=bounds, alpha=alpha, zorder=0, aspect="auto")
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    return ax


def plot_hidden_units(
    W1: np.ndarray,
    b1: np.ndarray,
    ax=None,
    bounds: tuple[float, float, float, float] = (-1.2, 1.2, -1.2, 1.2),
):
    """Draw each logistic hidden unit as the line where its input is zero, ``W1[j] @ x +
    b1[j] = 0``: on one side the unit is mostly on (sigma > 0.5), on the other mostly off.

    Args:
        W1: hidden weights, shape (m, 2).
        b1: hidden biases, shape (m,).
        ax: Axes to draw on (e.g. a data set's scatter); a new figure when None.
        bounds: (x_min, x_max, y_min, y_max) the lines are drawn across.

    Returns:
        The Axes.
    """
    W1, b1 = np.asarray(W1, dtype=np.float64), np.asarray(b1, dtype=np.float64)
    if W1.ndim != 2 or W1.shape[1] != 2 or b1.shape != (W1.shape[0],):
        raise ValueError(
            f"hidden units of points in the plane need W1 of shape (m, 2) and b1 of shape (m,), "
            f"got {W1.shape} and {b1.shape}"
        )
    ax = _axes(ax)
    x_min, x_max, y_min, y_max = bounds
    for j, ((w_x, w_y), b) in enumerate(zip(W1, b1, strict=True)):
        style = LINE_STYLES[j % len(LINE_STYLES)]
        if abs(w_y) >= abs(w_x) and w_y != 0:  # the steeper way round: no division by ~0
            xs = np.array([x_min, x_max])
            ys = -(b + w_x * xs) / w_y
        elif w_x != 0:
            ys = np.array([y_min, y_max])
            xs = -(b + w_y * ys) / w_x
        else:
            continue  # a unit whose input does not depend on x has no line
        ax.plot(xs, ys, style, color=POINT_EDGE, linewidth=1.0)
        # its number, at the line's point nearest the origin (where the data sit)
        nearest = -b * np.array([w_x, w_y]) / (w_x**2 + w_y**2)
        nearest = np.clip(nearest, [x_min, y_min], [x_max, y_max])
        ax.annotate(
            str(j),
            tuple(nearest),
            fontsize="small",
            bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0, "pad": 1},
        )
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    return ax
