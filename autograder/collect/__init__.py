"""The ``collect`` verb: grade every student's git repository with the hidden suites; push feedback.

``python -m autograder collect --roster ROSTER [--assignment ID] [--out DIR] [--push-feedback]``

One idea per module:

- ``roster``: the roster CSV (who, which repository).
- ``gitio``: every git process we start: its environment (the token as a header, paths taken
  literally, no user config), its time limit, its readable error.
- ``ledger``: ``seen.json``, when each commit was first fetched: what a commit time proves.
- ``snapshot``: what one commit gives the sandbox (the notebook and its neighbours), bounded,
  read in a constant number of git processes; the digest of what is graded.
- ``history``: when the graded files last changed along the branch: the submission time.
- ``state``: what a run keeps for the next one (``collect-state.json``, ``heads.json``), and its
  hand-over to the user who saves it.
- ``feedback_branch``: the report committed to the student's ``feedback`` branch.
- ``run``: one run over the roster; each student's errors are that student's.
- ``heads`` and ``statebranch``: standard-library-only commands the workflow runs before anything
  is installed (has any repository changed? fetch and save the state branch).

This package's ``__init__`` and the modules the workflow runs before installing import nothing
but the standard library: ``python3 -m autograder.collect.heads`` works on a bare runner.
"""
