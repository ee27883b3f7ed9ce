"""Lab 2, "Vectorized mini-batch training": instructor-only material."""
