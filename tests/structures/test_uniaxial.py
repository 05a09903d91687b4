"""1-D fibre laws for beam sections: superelastic nitinol (Auricchio-type) and linear elastic."""

from __future__ import annotations

import numpy as np
import pytest

from biomech.structures.uniaxial import (
    LAW_ELASTIC,
    LAW_NITINOL,
    elastic_params,
    elastic_stress,
    nitinol_params,
    nitinol_stress,
    uniaxial_stress,
)

P = nitinol_params()  # E_A = E_M = 50 GPa, 520 -> 600, 300 -> 200 MPa, eps_L = 0.05
E, AS_S, AS_F, SA_S, SA_F, EL = 50e3, 520.0, 600.0, 300.0, 200.0, 0.05


def drive(path, params=P, xi0=0.0):
    """Strain-driven history: commit each step; returns arrays (sigma, xi)."""
    xi, out_s, out_x = xi0, [], []
    for e in path:
        s, _, xi = nitinol_stress(e, xi, params)
        out_s.append(s)
        out_x.append(xi)
    return np.array(out_s), np.array(out_x)


def cycle(n):
    """0 -> 8 % -> 0 with n increments each way."""
    up = np.linspace(0.0, 0.08, n + 1)
    return np.concatenate([up, up[-2::-1]])


# (eps, xi_old) on every branch, tension and compression; with E_M != E_A too
BRANCH_POINTS = [
    (0.005, 0.0),    # elastic austenite
    (0.03, 0.0),     # forward plateau from austenite
    (0.03, 0.3),     # forward plateau from a partial state
    (0.07, 0.0),     # fully martensitic (crosses the plateau in one step)
    (0.07, 1.0),     # fully martensitic, elastic
    (0.02, 1.0),     # reverse plateau
    (0.033, 0.5),    # elastic unloading inside the loop
    (0.002, 0.5),    # reverse completed -> austenite
    (0.003, -0.7),   # sign change: compressive martensite reverted, tension elastic
]


@pytest.mark.parametrize("params", [P, nitinol_params(E_M=30e3), nitinol_params(E_M=70e3),
                                    nitinol_params(c_sigma=1.3, c_eps=0.8)],
                         ids=["EM=EA", "EM<EA", "EM>EA", "asymmetric"])
def test_tangent_matches_central_differences(params):
    rng = np.random.default_rng(0)
    pts = BRANCH_POINTS + [(-e, -x) for e, x in BRANCH_POINTS]
    pts += list(zip(rng.uniform(-0.09, 0.09, 300), rng.uniform(-1.0, 1.0, 300)))
    h, checked = 1e-8, 0
    for e, x in pts:
        s0, t, _ = nitinol_stress(e, x, params)
        sp, sm = nitinol_stress(e + h, x, params)[0], nitinol_stress(e - h, x, params)[0]
        right = (nitinol_stress(e + 1e-6, x, params)[0] - s0) / 1e-6
        left = (s0 - nitinol_stress(e - 1e-6, x, params)[0]) / 1e-6
        if abs(right - left) > 1e-3 * abs(t):  # a kink within 1e-6: skip
            continue
        fd = (sp - sm) / (2 * h)
        assert abs(t - fd) <= 1e-6 * abs(t), (e, x, t, fd)
        checked += 1
    assert checked > 250


def test_full_cycle_closed_forms():
    path = cycle(2000)
    s, xi = drive(path)
    n = 2001
    eu, su, xu = path[:n], s[:n], xi[:n]
    # loading: elastic to sigma_AS_s at eps = sigma_AS_s / E_A, plateau to sigma_AS_f at
    # eps = sigma_AS_f / E_M + eps_L, then elastic martensite
    def on_loading(e):
        if e <= AS_S / E:
            return E * e
        if e <= AS_F / E + EL:  # the plateau is the straight line between its two ends
            return AS_S + (AS_F - AS_S) * (e - AS_S / E) / (AS_F / E + EL - AS_S / E)
        return E * (e - EL)
    np.testing.assert_allclose(su, [on_loading(e) for e in eu], rtol=1e-10, atol=1e-9)
    assert xu[0] == 0.0 and xu[-1] == 1.0
    for e, sig in [(AS_S / E, AS_S), (AS_F / E + EL, AS_F)]:  # plateau ends, from austenite
        assert nitinol_stress(e, 0.0, P)[0] == pytest.approx(sig, rel=1e-12)
    for e, sig in [(SA_S / E + EL, SA_S), (SA_F / E, SA_F)]:  # plateau ends, from martensite
        assert nitinol_stress(e, 1.0, P)[0] == pytest.approx(sig, rel=1e-12)
    # unloading: elastic martensite down to sigma_SA_s at eps = sigma_SA_s / E_M + eps_L,
    # plateau to sigma_SA_f at eps = sigma_SA_f / E_A, then elastic austenite to zero
    ed, sd = path[n - 1:], s[n - 1:]
    def on_unloading(e):
        if e >= SA_S / E + EL:
            return E * (e - EL)
        if e >= SA_F / E:
            return SA_F + (SA_S - SA_F) * (e - SA_F / E) / (SA_S / E + EL - SA_F / E)
        return E * e
    np.testing.assert_allclose(sd, [on_unloading(e) for e in ed], rtol=1e-10, atol=1e-9)
    assert s[-1] == 0.0 and xi[-1] == 0.0  # no residual strain: sigma = 0 at eps = 0
    # dissipated energy = loop area = eps_L [(AS_s + AS_f)/2 - (SA_s + SA_f)/2] (MPa = mJ/mm^3)
    area = np.sum(0.5 * (s[1:] + s[:-1]) * np.diff(path))  # oint sigma d(eps) over the cycle
    exact = EL * (0.5 * (AS_S + AS_F) - 0.5 * (SA_S + SA_F))
    assert abs(area - exact) < 0.01 * exact, (area, exact)


def test_step_size_independence():
    coarse, fine = cycle(10), cycle(1000)  # 20 vs 2000 increments
    sc, xc = drive(coarse)
    sf, xf = drive(fine)
    idx = np.arange(0, fine.size, 100)
    np.testing.assert_array_equal(fine[idx], coarse)
    np.testing.assert_allclose(sc, sf[idx], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(xc, xf[idx], rtol=1e-6, atol=1e-12)
    # one step across the whole plateau and back lands on the same states
    s1, x1 = drive([0.07, 0.0])
    assert s1[0] == pytest.approx(E * (0.07 - EL)) and x1[0] == 1.0
    assert s1[1] == 0.0 and x1[1] == 0.0


def test_compression_symmetric():
    path = cycle(400)
    st, xt = drive(path)
    sc, xc = drive(-path)
    np.testing.assert_allclose(sc, -st, rtol=0, atol=1e-12)
    np.testing.assert_allclose(xc, -xt, rtol=0, atol=1e-15)
    # tension -> compression -> tension cycle: martensite of one sign reverts before the other
    s, xi = drive(np.concatenate([cycle(200), -cycle(200)[1:]]))
    assert xi.max() == 1.0 and xi.min() == -1.0 and s[-1] == 0.0
    # asymmetry hook: compressive plateau scaled by c_sigma, eps_L by c_eps
    pa = nitinol_params(c_sigma=1.3, c_eps=0.8)
    s, _ = drive(-cycle(400), pa)
    assert s.min() == pytest.approx(-50e3 * (0.08 - 0.8 * EL))
    assert nitinol_stress(-1.15 * AS_S / E, 0.0, pa)[2] == 0.0  # |sigma| 598 < 1.3 * 520: austenite


def test_partial_unloading_is_elastic_until_reverse_line():
    # load to the middle of the plateau (xi = 0.5, sigma = 560)
    e_mid = 560.0 / E + EL * 0.5
    s, xi = drive(np.linspace(0.0, e_mid, 200))
    assert s[-1] == pytest.approx(560.0) and xi[-1] == pytest.approx(0.5)
    # unload: elastic (slope E, xi frozen) until the reverse line at xi = 0.5,
    # sigma = SA_f + 0.5 (SA_s - SA_f) = 250 MPa; then along the reverse line
    x_mid = xi[-1]
    path = np.linspace(e_mid, 0.0, 400)
    su, xu = drive(path, xi0=x_mid)
    s_rev = SA_F + x_mid * (SA_S - SA_F)
    elastic = su > s_rev + 1e-9
    assert elastic.sum() > 50  # 560 -> 250 MPa at slope E: 17 % of the unloading path
    np.testing.assert_allclose(xu[elastic], x_mid, rtol=0, atol=0)
    np.testing.assert_allclose(su[elastic], E * (path[elastic] - EL * x_mid), rtol=1e-12)
    after = ~elastic & (su > SA_F)
    assert np.all(xu[after] < x_mid)
    np.testing.assert_allclose(xu[after], (su[after] - SA_F) / (SA_S - SA_F), rtol=1e-10)
    # reloading from inside the loop is elastic up to the forward line (return-point memory)
    sr, xr = drive([0.033, e_mid], xi0=x_mid)  # 400 MPa, then back to 560 MPa
    assert xr[0] == x_mid and sr[1] == pytest.approx(560.0) and xr[1] == pytest.approx(0.5)


def test_elastic_law_and_vectorised_switch():
    pe = elastic_params(200e3)
    assert elastic_stress(1e-3, 0.7, pe) == (200.0, 200e3, 0.7)
    eps = np.linspace(-0.08, 0.08, 33)
    s, t, st = uniaxial_stress(eps, np.zeros_like(eps), LAW_ELASTIC, pe)
    np.testing.assert_allclose(s, 200e3 * eps)
    assert np.all(t == 200e3) and np.all(st == 0.0)
    xi0 = np.linspace(-1.0, 1.0, 33)
    s, t, xi = uniaxial_stress(eps, xi0, LAW_NITINOL, P)
    for i in range(eps.size):
        assert (s[i], t[i], xi[i]) == nitinol_stress(eps[i], xi0[i], P)
    with pytest.raises(ValueError):
        nitinol_params(sigma_SA_s=700.0)
