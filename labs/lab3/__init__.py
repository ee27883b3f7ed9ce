"""Lab 3, "Deeper networks from layers": instructor-only material."""
