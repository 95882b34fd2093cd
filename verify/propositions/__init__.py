"""One module per proposition; importing this package registers every check."""

from . import (  # noqa: F401
    e1_effective_model,
    e2_effective_convexity,
    f1_induced_dynamics,
    f2_dichotomy,
    f3_direct_orders,
    h1_order_scaling,
    h1l_leading_order,
    h2_h3_hierarchy,
    s1_neutral,
    s2_spurious,
)
