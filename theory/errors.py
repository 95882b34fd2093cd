"""The one exception type for bad input: its message is a single line naming the problem and the fix."""

from __future__ import annotations

__all__ = ["SpecError"]


class SpecError(ValueError):
    """Invalid user input (model spec, parameters, target, case file, energy expression).

    Several problems found in one input are joined into one line with ``"; "``.
    """

    def __init__(self, message: str | list[str]):
        if isinstance(message, list):
            message = "; ".join(message)
        super().__init__(" ".join(str(message).split()))
