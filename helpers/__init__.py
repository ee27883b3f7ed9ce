"""Helpers shared by the lab notebooks and their tests: data sets, plots, gradient checks."""
