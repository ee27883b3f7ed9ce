"""What an instructor reads after grading: per-test results, totals, who needs attention,
misconceptions and similar code. ``build`` writes the files, ``summaries`` computes the numbers,
``page`` renders the HTML page and ``terminal`` the summary ``course report`` prints."""
