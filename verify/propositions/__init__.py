"""One module per proposition; importing this package registers every check."""

from . import e1_effective_model, e2_effective_convexity  # noqa: F401
