"""Lab 1, "Classification by Neural Network": instructor-only material."""
