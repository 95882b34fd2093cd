r"""The sections a proposition adds to a derivation document, specialised to the model at hand.

Each function takes the model and its closed forms and returns LaTeX paragraphs; a proposition names
its section in the registry (:attr:`verify.registry.Proposition.document`). The special points of S2
are rendered per kind the family declares (:meth:`~theory.families.base.Model.special_points`).
"""

from __future__ import annotations


from theory.lazy_sympy import sp
from theory.closed_forms import ClosedForms, tanh_form
from theory.conventions import latex_subset, order_of
from theory.latex import equation_lines, to_latex

from .document_blocks import align_rows, equations, symbol_of

__all__ = ["direct_parameters_section", "effective_convexity_section", "special_points_section",
           "leading_orders_section", "paramagnetic_hessian"]


def direct_parameters_section(model, cf: ClosedForms) -> list[str]:
    """F3: the parameters entering one coupling additively, checked on the closed form."""
    rows = []
    for k, A in model.direct_parameters().items():
        a = cf.subsets.index(tuple(A))
        column = [cf.jacobian[b, k] for b in range(cf.D)]
        ok = column[a] == 1 and all(c == 0 for b, c in enumerate(column) if b != a)
        rows.append(f"${symbol_of(cf, k)}$ enters $J_{{{latex_subset(A)}}}$ additively"
                    + ("" if ok else r" \textbf{(not confirmed by the closed form)}"))
    if not rows:
        return []
    return [r"\paragraph{Specialised.} " + "; ".join(rows)
            + r" (checked on the closed form: $\partial J_B/\partial\theta_k = \delta_{AB}$)."]


def effective_convexity_section(model, cf: ClosedForms) -> list[str]:
    """E2: where the non-convexity comes from."""
    return [r"$\Lambda(J) = J\cdot m^D - \log Z(J)$ does not depend on the model: "
            r"all non-convexity of $-\ell$ comes from $\theta \mapsto J(\theta)$ above."]


def special_points_section(model, cf: ClosedForms) -> list[str]:
    """S2: each kind of special point the family declares that has a closed-form section."""
    out = []
    for kind in model.special_points():
        render = _SPECIAL_POINT_SECTIONS.get(kind)
        if render is not None:
            out += render(model, cf)
    return out


def _switched_off(model, cf: ClosedForms) -> list[str]:
    point = cf.at({cf.theta[k]: 0 for _, iu, iv in model.factor_pairs() for k in (iu, iv)})
    H = point.hessian
    out = [r"\paragraph{Specialised (switched-off point).} At $u_A = v_A = 0$ for every $A$ the columns of "
           r"$G$ for $u, v$ vanish and $\nabla^2 J_A$ couples only $u_A$ and $v_A$:"]
    pairs = []
    for A, iu, iv in model.factor_pairs():
        block = sp.Matrix([[H[iu, iu], H[iu, iv]], [H[iv, iu], H[iv, iv]]])
        eig = sorted(block.eigenvals(), key=sp.default_sort_key)
        pairs.append((rf"H\big|_{{({symbol_of(cf, iu)},{symbol_of(cf, iv)})}}", block))
        pairs.append((r"\text{eigenvalues}", sp.FiniteSet(*[sp.factor(e) for e in eig])))
    out.append(align_rows([[f"{lhs} &= {to_latex(rhs)}"] for lhs, rhs in pairs]))
    out.append(r"so each block has eigenvalues $\pm r_A$ with $r_A = m^D_A - m_A$: a strict saddle "
               r"whenever some $r_A \ne 0$.")
    return out


def _paramagnetic_point(model, cf: ClosedForms) -> ClosedForms:
    """The closed forms at the family's paramagnetic point (:math:`w = 0`, :math:`b = 0`; fields and outputs free)."""
    return cf.at({cf.theta[k]: 0 for k in model.paramagnetic_zeros()})


def _paramagnetic(model, cf: ClosedForms) -> list[str]:
    point = _paramagnetic_point(model, cf)
    out = [r"\paragraph{Specialised (paramagnetic point).} At $w = 0$, $b = 0$ the model is a product measure "
           r"and the effective couplings are"]
    out.append(equations([(f"J_{{{latex_subset(A)}}}", j) for A, j in zip(cf.subsets, point.couplings)]))
    pairs = []
    for a, A in enumerate(cf.subsets):
        for k in range(cf.P):
            for m in range(k, cf.P):
                h = point.coupling_hessians[a][k, m]
                if h != 0:
                    pairs.append((rf"\partial_{{{symbol_of(cf, k)}}}\partial_{{{symbol_of(cf, m)}}} "
                                  rf"J_{{{latex_subset(A)}}}", h))
    out.append(r"The nonzero second derivatives there (the curvature term $\sum_A r_A\nabla^2 J_A$):")
    out.append(equations(pairs) if pairs else r"\[\nabla^2 J_A = 0.\]")
    out += _blocks_of_h(model, cf, point)
    statement = model.paramagnetic_statement()
    if statement:
        out.append(r"The family's S2 prediction there: " + statement + ".")
    return out


_SPECIAL_POINT_SECTIONS = {"switched-off": _switched_off, "paramagnetic": _paramagnetic}


def paramagnetic_hessian(cf: ClosedForms, model=None, point: ClosedForms | None = None) -> sp.Matrix:
    r""":math:`H` at :math:`w = 0`, :math:`b = 0` with the fields matched, where :math:`p_\theta` is the product
    measure :math:`m_A = \prod_{i\in A} m^D_i` (entries factored; the target's moments stay symbols).
    ``model`` defaults to the one ``cf`` was derived from; ``point`` is the closed forms there when known."""
    from theory.families import model_from_spec

    model = model_from_spec(cf.spec) if model is None else model
    point = _paramagnetic_point(model, cf) if point is None else point
    product = {}
    for A, m in zip(cf.subsets, cf.moments):
        product[m] = sp.Mul(*[cf.data_moments[cf.subsets.index((i,))] for i in A])
    return point.hessian.xreplace(product).applyfunc(lambda e: sp.factor(sp.expand(e)))


def _blocks_of_h(model, cf: ClosedForms, point: ClosedForms) -> list[str]:
    """:func:`paramagnetic_hessian` split into its decoupled blocks (eigenvalues of blocks of size ≤ 2)."""
    H = paramagnetic_hessian(cf, model, point)
    out = [r"With the fields matched ($m_A = \prod_{i\in A} m^D_i$ for the model), $H$ decouples into the "
           r"blocks below (parameters not listed have a zero row and column):"]
    rows = []
    for block in _components(H):
        sub = H.extract(block, block)
        if sub.is_zero_matrix:
            continue
        names = ", ".join(symbol_of(cf, k) for k in block)
        rows.append([rf"H\big|_{{({names})}} &= {to_latex(sub)}"])
        if len(block) <= 2:
            eig = [sp.factor(e) for e in sorted(sub.eigenvals(), key=sp.default_sort_key)]
            rows.append([rf"\text{{eigenvalues}} &= {to_latex(sp.FiniteSet(*eig))}"])
    out.append(align_rows(rows) if rows else r"\[H = 0.\]")
    return out


def _components(H: sp.Matrix) -> list[list[int]]:
    """Index sets of the connected components of the nonzero pattern of a symmetric matrix."""
    P = H.shape[0]
    seen, blocks = set(), []
    for start in range(P):
        if start in seen:
            continue
        stack, block = [start], []
        seen.add(start)
        while stack:
            k = stack.pop()
            block.append(k)
            for m in range(P):
                if m not in seen and H[k, m] != 0:
                    seen.add(m)
                    stack.append(m)
        blocks.append(sorted(block))
    return blocks


#: H1's section differentiates the closed form up to this many spins (beyond, H1L's formula gives the coefficient)
LEADING_ORDERS_MAX_N = 4


def leading_orders_section(model, cf: ClosedForms) -> list[str]:
    r"""H1: leading term of :math:`J_A(\varepsilon)` under the family's rescaling :math:`\theta(\varepsilon)`:
    :math:`\tfrac{1}{k!}\partial_\varepsilon^k J_A|_0\,\varepsilon^k`, :math:`k = |A|`."""
    if cf.n > LEADING_ORDERS_MAX_N:
        return [r"\paragraph{Specialised (leading orders).} The leading coefficient of every coupling is H1L's, "
                r"$\sum_\mu c_\mu\sigma^{(k)}(b_\mu)\prod_{i\in A}w_{i\mu}$, written out for this model below (the "
                r"expansion of the closed form, $2^N$ terms raised to the power $N$, is done up to $N = "
                + str(LEADING_ORDERS_MAX_N) + r"$)."]
    eps = sp.Symbol(r"\varepsilon", positive=True)
    scale = dict(zip(cf.theta, model.small_weight_scaled(cf.theta, eps)))
    rows = []
    for k in range(2, cf.n + 1):
        A = next(B for B in cf.subsets if order_of(B) == k)
        J = sp.expand_log(cf.coupling(A), force=True).xreplace(scale)  # a log of a ratio of cosh: its sum of logs
        lead = sp.factor_terms(sp.expand(tanh_form(_taylor_coefficient(J, eps, k))))
        lines = equation_lines(f"J_{{{latex_subset(A)}}}", lead * eps**k)
        lines[-1] += rf" + O(\varepsilon^{{{k + 2}}})"
        rows.append(lines)
    if not rows:
        return []
    return [r"\paragraph{Specialised (leading orders).} With $w = \varepsilon\tilde w$ (written $w$), the first "
            r"coupling of each order, from the closed form ($\tfrac{1}{k!}\partial_\varepsilon^k J_A$ at $0$; the "
            r"remainder is $O(\varepsilon^{k+2})$ by H1L):", align_rows(rows)]


_X = sp.Dummy("x")


def _taylor_coefficient(expr, eps, k: int):
    r""":math:`\tfrac{1}{k!}\partial_\varepsilon^k` of ``expr`` at :math:`\varepsilon = 0`, term by term: a term :math:`g(a(\varepsilon))`
    whose only dependence on :math:`\varepsilon` is one argument linear in it contributes :math:`a'^k g^{(k)}(a(0))/k!`
    (one derivative of :math:`g` per term shape instead of :math:`k` nested chain rules); any other term is
    differentiated as it is."""
    out = []
    derivatives: dict = {}
    for term in sp.Add.make_args(sp.expand(expr)):
        inner = {f.args[0] for f in term.atoms(sp.Function) if f.args and f.args[0].has(eps)
                 and not any(g.has(eps) for g in f.args[0].atoms(sp.Function))}
        arg = next(iter(inner)) if len(inner) == 1 else None
        shape = term.xreplace({arg: _X}) if arg is not None else None
        if arg is None or shape.has(eps) or sp.diff(arg, eps, 2) != 0:
            out.append(sp.diff(term, eps, k).xreplace({eps: 0}) / sp.factorial(k))
            continue
        if shape not in derivatives:
            derivatives[shape] = sp.diff(shape, _X, k)
        out.append(sp.diff(arg, eps) ** k * derivatives[shape].xreplace({_X: arg.xreplace({eps: 0})}) / sp.factorial(k))
    return sp.Add(*out)
