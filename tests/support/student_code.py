"""Pieces of student code the tests plant in submissions, written once."""

from __future__ import annotations

# The end of a backprop that differentiates a ``loss()`` of its own numerically (central
# differences over every entry of ``params``), indented for a function body.
CENTRAL_DIFFERENCES = """
    gradients = []
    for p in params:
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            kept = p[i]
            p[i] = kept + 1e-6
            up = loss()
            p[i] = kept - 1e-6
            down = loss()
            p[i] = kept
            g[i] = (up - down) / 2e-6
        gradients.append(g)
    return tuple(gradients)
"""
