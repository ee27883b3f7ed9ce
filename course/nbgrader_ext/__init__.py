"""The course's extensions of nbgrader and nbconvert, one per module, each named in
``nbgrader_config.py``: the autograde pipeline's preprocessors (``bounded_execute``,
``limit_output_size``, ``judge_cells``), the feedback pipeline's (``hide_paths``,
``hide_hidden_tests``, ``hide_student_outputs``), the HTML exporter's (``escape_names``,
``printable_cells``) and the feedback exporter (``feedback``)."""
