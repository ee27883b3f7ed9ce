"""Synthetic two-dimensional classification data sets for the labs.

Both keep the interface of the original lab's ``dataset`` module: ``inputs()`` (n x 2 float64),
``targets()`` (n x n_classes one-hot float64), ``input_dim``, ``n_classes``, ``len(ds)`` and
``plot(labels=None, ax=None)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _check_size_and_noise(n: object, noise: object) -> tuple[int, float]:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
        raise ValueError(f"n must be a positive whole number of points, got {n!r}")
    if not isinstance(noise, int | float | np.number) or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    return int(n), float(noise)


def _balanced_classes(n: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Class indices with every class within one point of n / n_classes, shuffled."""
    return rng.permutation(np.arange(n) % n_classes)


class Dataset:
    """Points ``X`` (n x 2) with class indices ``labels`` (n,), in ``n_classes`` classes."""

    def __init__(self, X: np.ndarray, labels: np.ndarray, n_classes: int):
        self._X = np.asarray(X, dtype=np.float64)
        self._labels = np.asarray(labels, dtype=np.int64)
        self.n_classes = int(n_classes)
        self.input_dim = self._X.shape[1]
        self._drawn_with: dict | None = None  # a subclass's arguments besides n and seed

    def sample_again(self, n: int, seed: int | None = None) -> Dataset:
        """``n`` new points drawn the way these were, from ``seed``: held-out data, points a
        network trained on these has never seen (with a seed other than theirs)."""
        if self._drawn_with is None:
            raise TypeError(f"{type(self).__name__} was given its points: it cannot draw more")
        draw: Callable[..., Dataset] = type(self)  # a subclass: it takes n and seed
        return draw(n=n, seed=seed, **self._drawn_with)

    def __len__(self) -> int:
        return len(self._X)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)}, n_classes={self.n_classes})"

    def inputs(self) -> np.ndarray:
        """The points: float64 array of shape (n, input_dim); a fresh copy each call."""
        return self._X.copy()

    def targets(self) -> np.ndarray:
        """One-hot class labels: float64 array of shape (n, n_classes)."""
        return np.eye(self.n_classes)[self._labels]

    def class_indices(self) -> np.ndarray:
        """Class of each point: int array of shape (n,)."""
        return self._labels.copy()

    def plot(self, labels=None, ax=None):
        """Scatter the points coloured by class.

        Args:
            labels: None for the true classes; otherwise one row per point: class indices (n,),
                one-hot or class-probability rows (n, n_classes), or a list of 1-D probability
                arrays (e.g. a network's softmax outputs). Probabilities are drawn as blended
                class colours, so uncertain outputs look uncertain.
            ax: matplotlib Axes to draw on; a new figure when None.

        Returns:
            The Axes.
        """
        from helpers import plotting  # matplotlib loads only when something is drawn

        probabilities = plotting.as_class_probabilities(
            self.targets() if labels is None else labels, len(self), self.n_classes
        )
        return plotting.scatter_classes(self._X, probabilities, ax=ax)


class Annuli(Dataset):
    """Three classes: a central disc and two concentric rings, all within about [-1, 1]^2.

    Args:
        n: number of points (> 0), split as evenly as possible between the classes.
        noise: how far points stray from their disc or ring (>= 0). 0 gives clean rings; 1
            (the labs' setting) scatters them by a standard deviation of SPREAD, leaving the
            classes apart: a trained 10-unit network separates them almost perfectly.
        seed: seed for the random generator; the same seed gives the same data.
    """

    RADII = (0.0, 0.5, 0.85)
    DISC_RADIUS = 0.25
    SPREAD = 0.06

    def __init__(self, n: int = 1000, noise: float = 1.0, seed: int | None = None):
        n, noise = _check_size_and_noise(n, noise)
        rng = np.random.default_rng(seed)
        labels = _balanced_classes(n, 3, rng)
        radius = np.asarray(self.RADII)[labels]
        in_disc = labels == 0
        radius[in_disc] = self.DISC_RADIUS * np.sqrt(rng.uniform(size=in_disc.sum()))
        radius = np.abs(radius + self.SPREAD * noise * rng.standard_normal(n))
        angle = rng.uniform(0.0, 2.0 * np.pi, size=n)
        X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
        super().__init__(X, labels, n_classes=3)
        self.noise = noise
        self._drawn_with = {"noise": noise}


class UClasses(Dataset):
    """Interleaved U shapes ("half moons"): two or more classes, alternately opening down and up.

    Args:
        n: number of points (> 0), split as evenly as possible between the classes.
        noise: standard deviation of the scatter around each U, in the plane's units
            (>= 0; with two classes each U is about 1.2 wide).
        seed: seed for the random generator.
        n_classes: how many interleaved U shapes (>= 2).
    """

    def __init__(
        self, n: int = 1000, noise: float = 0.1, seed: int | None = None, n_classes: int = 2
    ):
        n, noise = _check_size_and_noise(n, noise)
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
            raise ValueError(f"n_classes must be a whole number >= 2, got {n_classes!r}")
        rng = np.random.default_rng(seed)
        labels = _balanced_classes(n, n_classes, rng)
        angle = rng.uniform(0.0, np.pi, size=n)
        upside_down = labels % 2 == 1
        # Unit half-circles, each shifted right by one radius and alternately flipped,
        # so every U interleaves with its neighbours (the classic two-moons layout).
        x = np.cos(angle) + labels * 1.0
        y = np.where(upside_down, 0.5 - np.sin(angle), np.sin(angle))
        width = n_classes  # the x-range spans [-1, n_classes]
        scale = 1.8 / (width + 1.0)
        X = np.column_stack([(x - (width - 1) / 2.0) * scale, (y - 0.25) * scale * 1.6])
        X += noise * rng.standard_normal(X.shape)
        super().__init__(X, labels, n_classes=n_classes)
        self.noise = noise
        self._drawn_with = {"noise": noise, "n_classes": n_classes}
