"""Resource limits for one submission (course.yml ``time_limits``).

A leaf: config reads them, the sandbox enforces them; it imports nothing, so reading course.yml
never loads the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission.

    ``function_seconds`` is each graded function's budget over all of its calls: a function
    that is slow on every call runs out of its own budget, never the other functions'.
    """

    call_seconds: float = 10.0
    cell_seconds: float = 20.0
    notebook_seconds: float = 120.0
    memory_mb: int = 2048
    output_bytes: int = 20_000
    function_seconds: float = 40.0

    def __post_init__(self) -> None:
        # whole numbers: course.yml's 2048.0 is an integer to its schema, and rlimits shift them
        object.__setattr__(self, "memory_mb", int(self.memory_mb))
        object.__setattr__(self, "output_bytes", int(self.output_bytes))
