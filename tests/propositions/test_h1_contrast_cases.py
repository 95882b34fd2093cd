"""Mutation study (issue 16): H1's zero-bias contrast is the generic case with its biases set to zero.

Mutant killed: verify/propositions/h1_order_scaling.py, the generic cases drawn with ``scale=8.0`` instead of
``0.8``. That mutant changes only an input (H1 still holds at the new point), so no mathematical assertion
can see it; what can be stated is the design of the contrast: "an even phi with b = 0 gives no odd-order
couplings" is a contrast only against the *same* weights with generic biases, so the two cases must differ in
the ``b`` entries alone (and the generic case must have them nonzero).
"""

import pytest

from verify.propositions.h1_order_scaling import h1_cases


@pytest.mark.parametrize("n", [3, 4])
def test_zero_bias_contrast_differs_from_the_generic_case_only_in_b(n):
    cases = {c.name: c for c in h1_cases(ns=(n,), families=["rbm"])}
    generic = cases[f"h1/rbm-spin-n{n}-m2/generic"]
    zero = cases[f"h1/rbm-spin-n{n}-m2/zero-bias"]
    assert generic.model.spec() == zero.model.spec()
    for p, g, z in zip(generic.model.params, generic.params, zero.params):
        if p.group == "b":
            assert z == 0 and g != 0, p.label
        else:
            assert g == z, p.label
