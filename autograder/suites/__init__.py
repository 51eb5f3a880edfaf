"""The hidden suites, one module per assignment.  Never shipped to students.

Each suite module makes its assignment's ``Suite`` (checks, feedback plotters, hints) and
registers it in ``SUITES``; importing this package imports every module in it, so a new
assignment's suite is found by being here, and nothing else of the grader names it.
"""

import importlib
import pkgutil

from .framework import SUITES, Suite

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["SUITES", "Suite"]
