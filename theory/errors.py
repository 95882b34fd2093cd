"""The one exception type for bad input: its message is a single line naming the problem and the fix."""

from __future__ import annotations

__all__ = ["SpecError", "MAX_MESSAGE_LENGTH"]

#: Longest message of a :class:`SpecError`, in characters (a longer one is shortened in the middle).
MAX_MESSAGE_LENGTH = 270
#: Most problems listed in one message; the rest are counted.
_MAX_PROBLEMS = 3


class SpecError(ValueError):
    """Invalid user input (model spec, parameters, target, case file, energy expression).

    Several problems found in one input are joined into one line with ``"; "`` (the first three, and a
    count of the others); the line is at most :data:`MAX_MESSAGE_LENGTH` characters, so an error never
    echoes a huge input.
    """

    def __init__(self, message: str | list[str]):
        if isinstance(message, list):
            shown = message[:_MAX_PROBLEMS]
            if len(message) > _MAX_PROBLEMS:
                shown.append(f"and {len(message) - _MAX_PROBLEMS} more problem(s)")
            message = "; ".join(str(m) for m in shown)
        text = " ".join(str(message).split())
        if len(text) > MAX_MESSAGE_LENGTH:
            keep = MAX_MESSAGE_LENGTH - 5
            text = text[: keep * 2 // 3] + " ... " + text[-(keep - keep * 2 // 3):]
        super().__init__(text)
