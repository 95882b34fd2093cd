"""High-precision verification of the propositions of THEORY.md (mpmath; numpy where float64 suffices)."""

__version__ = "0.1.0"
