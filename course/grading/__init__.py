"""Grading a whole cohort: nbgrader autograde on Dask workers, then feedback and CSV.

nbgrader has no parallel mode. Each student is a Dask task (``course.grading.distributed``): a
grading process on a worker (``course.grading.worker``) autogrades them with nbgrader's API in a
scratch course of its own, the trusted judge re-checks them, and the graded notebooks,
feedback pages and outcome come back as data. This process alone writes them into the course
folder and the gradebook (``course.grading.recorder``), as they arrive. The cluster is a
LocalCluster started here by default, or an existing one (``--scheduler``): one code path for
both.

A student counts as graded when ``autograded/<student>/<lab>/`` holds our marker with the
digest of the submitted files: a run that was interrupted, or a resubmission, is graded again;
nbgrader's own "skip if the autograded folder exists" is not relied on, because an interrupted
autograde leaves that folder behind half-written.
"""
