"""Instructor-only material of each lab (demo cohorts built from the solutions, and the like).

Never installed for students: pyproject.toml packages only ``helpers`` and ``course``; tools
import it from the course directory (see ``course.labs.import_lab_module``).
"""
