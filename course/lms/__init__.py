"""The course and its LMS (Canvas, Moodle): submissions brought in from the LMS's download
(``collect``, with ``extract``, nbgrader's extractor plugin, and ``names``, the LMS's file names
read), and grades and feedback handed back (``handback``: the grade import file and the
feedback zip)."""
