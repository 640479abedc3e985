"""The rigorous evaluator (symgrad/numeric/enclose.py) and the registry's arb facts.

Every elementwise op of the spec table (test_rules_spec.SPECS) is checked two ways: at
exact points its enclosure holds SymPy's 50-digit value, and over a small box the
enclosure holds the value at points inside the box (so a wrong "increasing" label, or a
fact that is not an enclosure on wide balls, fails). Then the cases the issue names:
log(1 + e^-200) and acos(1 - e^-200) are not 0, precision is raised until an
enclosure excludes 0, and an exact zero is never certified nonzero.
"""

import random

import pytest
import sympy as sp
from flint import arb, fmpq

from symgrad.numeric import enclose, reference
from symgrad.numeric.certify import compare_equal, compare_order, sign_of
from symgrad.numeric.exact import Undefined
from symgrad.ops import CONDITION, ELEMENTWISE, entries
from symgrad.ops import balls
from test_rules_spec import SPECS

x, y = sp.symbols("x y")
R = sp.Rational
SCALAR_SPECS = sorted(((cls, spec) for cls, spec in SPECS.items() if not spec.is_matrix
                       and cls not in (sp.DiracDelta,)), key=lambda kv: kv[0].__name__)


def _points(spec, rng, count=3):
    return [[sample(rng) for sample in spec.domain] for _ in range(count)]


def _contains(ball, value):
    """The ball meets a 50-digit value (taken as a ball of radius 1e-45 relative)."""
    from flint import ctx
    with ctx.workprec(200):
        v = arb(str(sp.Float(value, 60)))
        v = arb(v.mid(), abs(v.mid()) * arb("1e-45") + arb("1e-60"))
        return bool(ball.overlaps(v))


# --- the arb facts, op by op ---------------------------------------------------------------

def test_every_elementwise_op_and_condition_has_an_arb_fact():
    missing = [op.name for op in entries() if op.kind in (ELEMENTWISE, CONDITION)
               and op.arb is None and not op.float_only]
    assert missing == []


@pytest.mark.parametrize("cls, spec", SCALAR_SPECS, ids=[c.__name__ for c, _ in SCALAR_SPECS])
def test_arb_fact_encloses_the_value_at_exact_points(cls, spec):
    expr, wrt, args = spec.setup()
    symbols = wrt + args
    rng = random.Random(hash(cls.__name__) % 1000)
    for values in _points(spec, rng):
        at = dict(zip(symbols, values))
        want = sp.N(expr.xreplace(at), 50)
        b = enclose.enclose(expr, enclose.accurate_to(120), symbols, [enclose.ball_of(v) for v in values])
        assert b.ball.is_finite() and _contains(b.ball, want), (cls, values, b.ball, want)
        assert b.ball.rel_accuracy_bits() >= 100 or abs(want) < 1e-30


@pytest.mark.parametrize("cls, spec", SCALAR_SPECS, ids=[c.__name__ for c, _ in SCALAR_SPECS])
def test_arb_fact_encloses_every_value_over_a_box(cls, spec):
    expr, wrt, args = spec.setup()
    symbols = wrt + args
    rng = random.Random(1 + hash(cls.__name__) % 1000)
    tape = enclose.Tape(expr, symbols)
    for centre in _points(spec, rng, 2):
        radius = R(1, 128)
        box = [balls.interval(enclose.ball_of(c - radius), enclose.ball_of(c + radius)) for c in centre]
        try:
            b = tape.run(box, 96)
        except Undefined:
            continue
        if not b.is_finite():
            continue                      # nothing claimed: the box straddles a pole or a kink
        for k in range(5):
            inner = [c + radius * R(rng.randint(-8, 8), 8) for c in centre]
            value = sp.N(expr.xreplace(dict(zip(symbols, inner))), 50)
            if value.is_real:
                assert _contains(b, value), (cls, inner, b, value)


def test_interval_keeps_an_end_at_zero_exact():
    assert balls.interval(arb(0), arb(1)).lower() == 0
    assert balls.interval(arb(-1), arb(0)).upper() == 0
    wide = balls.interval(arb(0), arb(3))
    assert balls.increasing(lambda t: t.exp())(wide).lower() >= 1      # e^[0, 3] starts at 1
    assert balls.power(balls.interval(arb(-2), arb(1)), arb(2)).lower() >= 0


def test_piecewise_and_powers_follow_sympys_meaning():
    assert balls.piecewise(balls.UNDEFINED, False, arb(2), True) == 2
    assert balls.piecewise(balls.UNDEFINED, True, arb(2), True) is balls.UNDEFINED
    assert balls.power(arb(-8), arb(fmpq(1, 3))) is balls.UNDEFINED      # SymPy: not real
    assert balls.power(arb(0), arb(fmpq(1, 2))) == 0
    assert balls.relation("<")(arb(1), arb(2)) is True
    assert balls.relation("<")(arb(0, 1), arb(0)) is None


# --- the cases the issue names ---------------------------------------------------------------

@pytest.mark.parametrize("value, sign", [
    (sp.log(1 + sp.exp(-200)), 1),
    (sp.acos(1 - sp.exp(-200)), 1),
    (sp.acos(1 - sp.exp(-1000)), 1),
    (sp.log(1 + sp.exp(-1000)) - sp.exp(-1000), -1),
    (sp.exp(1) - R("2.718281828459045235360287"), 1),
])
def test_tiny_values_get_their_sign_certified(value, sign):
    b = enclose.enclose(value)
    assert b.sign == sign and not b.ball.contains(0)


def test_exact_zeros_are_never_certified_nonzero():
    for zero in (sp.log(2) + sp.log(3) - sp.log(6), sp.sqrt(2) * sp.sqrt(3) - sp.sqrt(6),
                 sp.log(1 + sp.exp(-200)) - sp.log(1 + sp.exp(-200)).rewrite(sp.exp),
                 (sp.exp(sp.I * 3) - sp.exp(-sp.I * 3)) / (2 * sp.I) - sp.sin(3)):
        b = enclose.enclose(zero)
        assert b.sign in (0, None) and b.ball.contains(0)
    z = sp.Symbol("z")
    s = 1 / (1 + sp.exp(-z))
    for at in (200, 1000):
        L, R_ = sp.diff(s, z).subs(z, at), (s * (1 - s)).subs(z, at)
        assert compare_equal(L, R_)[0] == "ok"
        assert compare_order(sp.log(1 + sp.exp(-z)).subs(z, at), sp.S.Zero, ">")[0] == "ok"


def test_precision_is_raised_until_the_sign_shows_and_capped_after():
    b = enclose.enclose(sp.log(1 + sp.exp(-200)))
    assert b.prec > 288                         # e^-200 is 2^-288: 64 bits cannot see it
    zero = enclose.enclose(sp.log(2) + sp.log(3) - sp.log(6))
    assert zero.prec == enclose.cap_for(enclose.Tape(sp.log(2) + sp.log(3) - sp.log(6)))
    assert sign_of(sp.log(2) + sp.log(3) - sp.log(6)).sign == 0


def test_undefined_values_raise_and_uncertain_ones_do_not():
    for bad in (sp.log(sp.S.Zero, evaluate=False), sp.sqrt(-2),
                sp.acos(sp.Integer(2), evaluate=False)):
        with pytest.raises(Undefined):
            enclose.enclose(bad)
    assert reference.evaluate(sp.log(x), {x: sp.S.Zero}) is sp.zoo
    assert reference.evaluate(sp.sqrt(x), {x: sp.S.Zero}) == 0


def test_evaluate_gives_correct_digits_and_sums_run_in_the_tape():
    got = reference.evaluate(1 - 1 / (1 + sp.exp(-x)), {x: sp.Integer(1000)}, 30)
    assert abs(got / sp.Float("5.0759588975494567652918094795743369193055992828928e-435", 50) - 1) < 1e-28
    i, n = sp.symbols("i n", integer=True)
    w = sp.IndexedBase("w")
    arrays = {w: sp.ImmutableDenseNDimArray([R(1, 2), -1, 3])}
    got = reference.evaluate_at(sp.Sum(sp.exp(w[i]) * i, (i, 0, n - 1)), [n], [3], 40, arrays)
    want = sp.N(sp.exp(-1) + 2 * sp.exp(3), 40)
    assert abs(got - want) < 1e-38
    with pytest.raises(Undefined):
        enclose.Tape(sp.Sum(w[i], (i, 0, n))).run([arb(3)], 64, arrays)     # w[3] does not exist


def test_a_ball_that_excludes_zero_never_prints_as_if_it_held_zero():
    # found by a probe: Arb printed [-6.5e-19 +/- 4.2e-19] as "[+/- 1.07e-18]" (only sure digits)
    from flint import arb
    b = enclose.Ball(arb("-6.50521e-19", "4.17e-19"), 64)
    assert b.sign == -1
    text = b.text()
    assert not text.startswith("[+/-") and text.startswith("[-6.5") and "+/- 4.1" in text
    assert enclose.Ball(arb(0, "1e-18"), 64).text().startswith("[+/-")    # holds 0: says so
