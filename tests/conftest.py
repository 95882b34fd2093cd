import mpmath
import pytest


@pytest.fixture(autouse=True)
def _restore_precision():
    """Library code never sets mp.dps globally; this makes sure a test cannot leak it either."""
    before = mpmath.mp.dps
    yield
    assert mpmath.mp.dps == before, "a test changed the global mpmath precision"
    mpmath.mp.dps = before
