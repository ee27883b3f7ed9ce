"""Instructor tooling for the course, built on nbgrader's own API."""
