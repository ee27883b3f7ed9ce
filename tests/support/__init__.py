"""What the tests share: the repository's paths, the real commands, scratch courses, the demo
cohort graded once per session, real servers and browsers, and the submissions they plant.

Fixtures are registered in ``tests/conftest.py``; everything else is imported from here."""
