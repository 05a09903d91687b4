"""Node-to-surface contact: projection, patch tests, action = reaction, tangent, friction path,
sign on curved non-convex surfaces."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from biomech.contact import SurfaceContact
from biomech.contact.surface import _closest_point


def _plane(n, size, rng, jitter=0.3, bump=0.0):
    """Skewed triangulation of [0, size]² at z ≈ 0 (normals +z): jittered interior vertices,
    alternating diagonals, optional random bumps in z."""
    s = np.linspace(0.0, size, n)
    X, Y = np.meshgrid(s, s, indexing="ij")
    h = size / (n - 1)
    inner = (slice(1, -1), slice(1, -1))
    X[inner] += rng.uniform(-jitter, jitter, X[inner].shape) * h
    Y[inner] += rng.uniform(-jitter, jitter, Y[inner].shape) * h
    Z = bump * rng.uniform(-1.0, 1.0, X.shape)
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]
    flip = ((np.add.outer(np.arange(n - 1), np.arange(n - 1)) % 3) == 0)
    t1 = np.where(flip[..., None], np.stack([a, b, d], -1), np.stack([a, b, c], -1))
    t2 = np.where(flip[..., None], np.stack([b, c, d], -1), np.stack([a, c, d], -1))
    tris = np.concatenate([t1.reshape(-1, 3), t2.reshape(-1, 3)])
    return np.column_stack([X.ravel(), Y.ravel(), Z.ravel()]), tris


def _tube(radius, length, n_theta, n_z, bend=None):
    """Triangulated tube about z (or bent about a circle of radius ``bend`` in the xz-plane),
    normals out of the lumen: points and triangles."""
    th = np.linspace(0.0, 2 * np.pi, n_theta, endpoint=False)
    s = np.linspace(0.0, length, n_z)
    T, S = np.meshgrid(th, s, indexing="ij")
    pts = _tube_point(radius, T.ravel(), S.ravel(), bend)
    idx = np.arange(n_theta * n_z).reshape(n_theta, n_z)
    nxt = np.roll(idx, -1, axis=0)
    a, b, c, d = idx[:, :-1], nxt[:, :-1], nxt[:, 1:], idx[:, 1:]
    tris = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3),
                           np.stack([a, c, d], -1).reshape(-1, 3)])
    return pts, tris


def _tube_point(rho, theta, s, bend=None):
    """Point at distance rho from the centerline, angle theta, arc length s."""
    rho = np.broadcast_to(rho, np.shape(theta))
    if bend is None:
        return np.column_stack([rho * np.cos(theta), rho * np.sin(theta), s])
    phi = s / bend  # centerline: (bend (1 − cos φ), 0, bend sin φ), tangent (sin φ, 0, cos φ)
    e1 = np.column_stack([np.cos(phi), np.zeros_like(phi), -np.sin(phi)])  # e1 × y = tangent
    c = np.column_stack([bend * (1 - np.cos(phi)), np.zeros_like(phi), bend * np.sin(phi)])
    return c + rho[..., None] * (np.cos(theta)[:, None] * e1
                                 + np.sin(theta)[:, None] * np.array([0.0, 1.0, 0.0]))


def _brute_closest(x, a, b, c):
    """Closest points of triangles abc to points x (rows broadcast), independently of the
    kernel: the plane projection if it falls inside, else the nearest clamped edge point."""
    e1, e2 = b - a, c - a
    n = np.cross(e1, e2)
    q = x - (np.sum((x - a) * n, -1) / np.sum(n * n, -1))[..., None] * n
    v = q - a
    m11, m12, m22 = (np.sum(u * w, -1) for u, w in ((e1, e1), (e1, e2), (e2, e2)))
    r1, r2 = np.sum(e1 * v, -1), np.sum(e2 * v, -1)
    det = m11 * m22 - m12 ** 2
    l1, l2 = (m22 * r1 - m12 * r2) / det, (m11 * r2 - m12 * r1) / det
    inside = (l1 >= 0) & (l2 >= 0) & (l1 + l2 <= 1)
    cands = [np.where(inside[..., None], q, np.inf)]
    for p0, p1 in ((a, b), (b, c), (c, a)):
        t = np.clip(np.sum((x - p0) * (p1 - p0), -1) / np.sum((p1 - p0) ** 2, -1), 0, 1)
        cands.append(p0 + t[..., None] * (p1 - p0))
    cands = np.stack(cands)
    k = np.argmin(np.linalg.norm(cands - x, axis=-1), axis=0)
    return np.take_along_axis(cands, k[None, ..., None], 0)[0]


def _equilibrium(c, xs, xm, load, *, k_slave, rest=None, k_master=None, master_fixed=None,
                 tol=1e-4):
    """Newton (steps ≤ 0.1 mm) + Uzawa from slave positions ``xs``: slave particles held by
    springs to ``rest`` (default xs) of stiffness k_slave (3 per axis, or (ns, 3, 3)), and, if
    k_master, master vertices held by springs too (``master_fixed`` ones not DOFs); commits."""
    ns, nm = len(xs), len(xm)
    rest = xs if rest is None else rest
    Ks = (sp.diags(np.tile(k_slave, ns)) if np.ndim(k_slave) == 1
          else sp.block_diag(list(k_slave)))
    sd = np.arange(3 * ns).reshape(ns, 3)
    md = np.full((nm, 3), -1)
    if k_master is not None:
        md = 3 * ns + np.arange(3 * nm).reshape(nm, 3)
        md[np.asarray(master_fixed if master_fixed is not None else [], int)] = -1
        Ks = sp.block_diag([Ks, k_master * sp.eye(3 * nm)])
    n = Ks.shape[0]
    x0 = np.concatenate([rest.ravel(), xm.ravel()])[:n]
    u = np.concatenate([xs.ravel(), xm.ravel()])[:n]
    F = np.zeros(n)
    F[:3 * ns] = load.ravel()
    scale = np.abs(F).max()
    for _ in range(30):
        for _ in range(40):
            ys = u[:3 * ns].reshape(ns, 3)
            ym = np.where(md >= 0, u[3 * ns:].reshape(-1, 3), xm) if k_master is not None else xm
            f, K = c.forces(ys, ym, sd, md, n)
            r = Ks @ (u - x0) + f - F
            if k_master is not None:
                r[3 * ns:][md.ravel() < 0] = 0.0
            if np.abs(r).max() <= 1e-11 * scale:
                break
            A = (Ks + K).tocsr()
            if k_master is not None:  # fixed master vertices: identity rows
                free = sp.diags((np.concatenate([np.ones(3 * ns), md.ravel() >= 0])).astype(float))
                A = free @ A @ free + sp.diags(1.0 - free.diagonal())
            du = spla.spsolve(A.tocsc(), r)
            u -= du * min(1.0, 0.1 / np.abs(du).max())  # steps of 0.1 mm at most
        else:
            raise AssertionError(f"Newton did not converge: {np.abs(r).max():.3e}")
        if c.augment(ys, ym) <= tol:
            break
    c.commit()
    return ys, ym, f, sd, md


def test_closest_point_vs_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(300):  # single triangles, points all around them
        a, b, c = rng.normal(size=(3, 3))
        x = rng.normal(size=3) * 2
        w0, w1, w2, _ = _closest_point(x, a, b, c)
        assert np.allclose(w0 * a + w1 * b + w2 * c, _brute_closest(x, a, b, c), atol=1e-12)
    a, b = rng.normal(size=(2, 3))  # zero-area triangle: the closest point of its segments
    x = rng.normal(size=3)
    w0, w1, w2, region = _closest_point(x, a, b, 0.5 * (a + b))
    t = np.clip((x - a) @ (b - a) / ((b - a) @ (b - a)), 0, 1)
    assert np.isfinite([w0, w1, w2]).all() and region != 0
    assert np.allclose(w0 * a + w1 * b + w2 * 0.5 * (a + b), a + t * (b - a), atol=1e-12)

    xm, tris = _plane(9, 4.0, rng, bump=0.4)  # a bumpy, skewed mesh and the grid search
    pts = np.column_stack([rng.uniform(-0.5, 4.5, (400, 2)), rng.uniform(-1.0, 1.0, 400)])
    pts[:40] = xm[rng.choice(len(xm), 40)] + rng.normal(0, 0.05, (40, 3))  # near vertices
    radius = 0.6
    pr = SurfaceContact(tris, np.zeros(len(pts)), 1.0, search_radius=radius).gaps(pts, xm)
    V = xm[tris]
    for i, x in enumerate(pts):
        d = np.linalg.norm(_brute_closest(x, V[:, 0], V[:, 1], V[:, 2]) - x, axis=1)
        if d.min() > radius:
            assert pr.triangle[i] == -1 and pr.gap[i] == -np.inf
            continue
        t = pr.triangle[i]
        assert abs(np.linalg.norm(pr.point[i] - x) - d.min()) < 1e-12
        assert np.allclose(pr.weights[i] @ xm[tris[t]], pr.point[i], atol=1e-12)
        assert abs(abs(pr.gap[i]) - d.min()) < 1e-12  # offset 0: |g| is the distance
    zeros = (pr.weights[pr.triangle >= 0] == 0).sum(1)
    assert {0, 1, 2} <= set(zeros)  # faces, edges and vertices were all exercised


def test_patch_rigid_flat_surface_uniform_forces():
    rng = np.random.default_rng(1)
    xm, tris = _plane(7, 4.0, rng)
    g = np.linspace(0.35, 3.65, 8)  # slave grid not matching the master
    xy = np.column_stack([a.ravel() for a in np.meshgrid(g, g)])
    e = np.sort(tris[:, :2], axis=1)
    xy = np.vstack([xy, xm[7 + 1:7 + 6, :2],  # nodes over master vertices and edge midpoints
                    0.5 * (xm[e[5:20, 0], :2] + xm[e[5:20, 1], :2])])
    ns = len(xy)
    offset = rng.uniform(0.1, 0.2, ns)
    xs = np.column_stack([xy, -offset + 1e-3])
    c = SurfaceContact(tris, offset, 100.0)
    N = 1.5
    load = np.tile([0.0, 0.0, N], (ns, 1))  # pressed into the wall (normals +z)
    ys, _, _, _, _ = _equilibrium(c, xs, xm, load, k_slave=np.array([1e-3, 1e-3, 0.0]))
    pr = c.gaps(ys, xm)
    assert np.abs(c.contact_forces() - N).max() <= 1e-6 * N
    assert pr.gap.max() <= 1e-4 and np.abs(pr.gap).max() <= 1e-4
    assert np.abs(ys[:, :2] - xy).max() < 1e-12  # no spurious tangential force on edges
    assert np.allclose(c.pressure(np.full(ns, 0.5)), N / 0.5)
    assert c.active().all()
    zeros = (pr.weights == 0).sum(1)
    assert (zeros == 2).any() and (zeros == 0).any()  # landed on vertices and faces


def test_two_body_patch_action_reaction():
    rng = np.random.default_rng(2)
    xm, tris = _plane(6, 4.0, rng)
    g = np.linspace(0.4, 3.6, 6)
    xy = np.column_stack([a.ravel() for a in np.meshgrid(g, g)])
    ns = len(xy)
    xs = np.column_stack([xy, np.full(ns, -0.15 + 1e-3)])
    c = SurfaceContact(tris, np.full(ns, 0.15), 200.0, friction=0.2)
    load = np.tile([0.0, 0.0, 0.8], (ns, 1))
    ys, ym, f, sd, md = _equilibrium(c, xs, xm, load, k_slave=np.array([10.0, 10.0, 0.0]),
                                     k_master=50.0)
    fs = f[sd].sum(0)
    fm = f[md].sum(0)
    assert np.abs(fs + fm).max() <= 1e-10 * np.abs(fs).max()
    assert fs[2] == pytest.approx(load[:, 2].sum(), rel=1e-8)  # the slaves carry the load...
    assert np.allclose(-fm, 50.0 * (ym - xm).sum(0), rtol=1e-8)  # ... the master's springs too
    assert ym[:, 2].max() > 1e-3  # the wall moved
    assert c.gaps(ys, ym).gap.max() <= 1e-4

    fixed = np.flatnonzero((xm[:, 0] == 0.0) | (xm[:, 0] == 4.0))  # rigid edges: not DOFs
    c2 = SurfaceContact(tris, np.full(ns, 0.15), 200.0)
    ys, ym, f, sd, md = _equilibrium(c2, xs, xm, load, k_slave=np.array([10.0, 10.0, 0.0]),
                                     k_master=50.0, master_fixed=fixed)
    assert f[sd].sum(0)[2] == pytest.approx(load[:, 2].sum(), rel=1e-8)
    assert np.allclose(ym[fixed], xm[fixed]) and c2.gaps(ys, ym).gap.max() <= 1e-4


@pytest.mark.parametrize("mu", [0.0, 0.4])
def test_tangent_matches_finite_differences(mu):
    """Full tangent (normal, curvature, friction stick and slip) vs central differences of
    ``forces`` at fixed multipliers and history, on a bumpy deformable master."""
    rng = np.random.default_rng(3)
    xm, tris = _plane(6, 4.0, rng, bump=0.35)
    ns = 40
    c = SurfaceContact(tris, np.full(ns, 0.2), 50.0, friction=mu, tangential_penalty=80.0,
                       search_radius=1.0)
    xs = np.column_stack([rng.uniform(0.5, 3.5, (ns, 2)), np.zeros(ns)])
    for _ in range(3):  # just below the surface, some penetrating
        xs[:, 2] = c.gaps(xs, xm, radius=10.0).point[:, 2] - 0.2 + rng.uniform(-0.05, 0.08, ns)
    xs[:12] = xm[rng.choice(len(xm), 12)] + rng.normal(0, 0.1, (12, 3))  # around vertices
    sd = np.arange(3 * ns).reshape(ns, 3)
    md = 3 * ns + np.arange(3 * len(xm)).reshape(-1, 3)
    n = 3 * (ns + len(xm))
    c.augment(xs, xm)  # multipliers k g of the penetrating nodes
    c.commit()  # anchors at the current closest points
    xs = xs + rng.normal(0, 0.02, xs.shape)  # then slide and deform
    xm = xm + rng.normal(0, 0.01, xm.shape)
    f, K = c.forces(xs, xm, sd, md, n)
    K = K.toarray()
    weights = c.gaps(xs, xm).weights[c.active()]
    assert {0, 1} <= set((weights == 0).sum(1))  # faces and edges/vertices in contact
    assert ((c._last["wts"] > 0).sum(1)[c.active()] >= 2).any()  # folds: smoothed max
    if mu > 0:
        fr = np.linalg.norm(c.friction_forces()[c.active()], axis=1)
        lam = c._last["lam"][c.active()]
        assert (fr < 0.4 * lam - 1e-9).any() and np.isclose(fr, 0.4 * lam).any()  # stick, slip
    assert np.abs(f[sd].sum(0) + f[md].sum(0)).max() < 1e-12 * np.abs(f).max()
    u = np.concatenate([xs.ravel(), xm.ravel()])
    h = 1e-6
    Kfd = np.empty_like(K)
    for j in range(n):
        fp, fm = (c.forces(*np.split(u + s * h * np.eye(n)[j], [3 * ns]), sd, md, n)[0]
                  for s in (1, -1))
        Kfd[:, j] = (fp - fm) / (2 * h)
    assert np.abs(K - Kfd).max() <= 1e-5 * np.abs(K).max()


def test_friction_block_stick_slip_unload():
    xm = np.array([[-5.0, -5, 0], [5, -5, 0], [5, 5, 0], [-5, 5, 0]])
    tris = np.array([[0, 1, 2], [0, 2, 3]])
    mu, N, kt, ks = 0.3, 2.0, 500.0, 1.0
    c = SurfaceContact(tris, [0.1], 1e3, friction=mu, tangential_penalty=kt)
    x0 = np.array([[1.3, 0.4, -0.1 + 1e-3]])
    ys = x0
    anchor = 0.0  # reference return map on the x-displacement
    ux_prev = 0.0
    for T in [0.0, 0.3, 0.5, 0.8, 1.0, 1.2, 0.5, 0.0]:  # each step from the last equilibrium
        ys, *_ = _equilibrium(c, ys.copy(), xm, np.array([[T, 0.0, N]]), rest=x0,
                              k_slave=np.array([ks, ks, 0]), tol=1e-6)
        ux = ys[0, 0] - x0[0, 0]
        stick = (T + kt * anchor) / (kt + ks)
        if abs(kt * (stick - anchor)) <= mu * N:  # stick: elastic, the anchor stays
            expected, friction = stick, -kt * (stick - anchor)
        else:
            sgn = np.sign(stick - anchor)
            expected, friction = (T - sgn * mu * N) / ks, -sgn * mu * N
            anchor = expected + friction / kt
            assert np.linalg.norm(c.friction_forces()[0]) == pytest.approx(mu * N, rel=1e-8)
            assert ux > ux_prev  # slip: the displacement grows
        assert ux == pytest.approx(expected, rel=1e-8, abs=1e-12)
        assert c.friction_forces()[0] == pytest.approx([friction, 0, 0], rel=1e-7, abs=1e-10)
        assert c.contact_forces()[0] == pytest.approx(N, rel=1e-8)
        if T == 0.5 and ux_prev < 0.01:  # loading stick: u = T / k_t (spring k_s ≪ k_t)
            assert ux == pytest.approx(T / kt, rel=ks / kt * 1.01)
        ux_prev = ux
    assert ux > 0.5  # unloaded, the block stays where it slid (hysteresis)


@pytest.mark.parametrize("bend", [None, 25.0])
def test_curved_tube_sign_on_faces_edges_vertices(bend):
    """Points around a triangulated tube (straight, or bent: non-convex) on both sides, at
    random places and right over vertices and edges: the penetration has the right sign."""
    rng = np.random.default_rng(5)
    R, L, nt, nz = 4.0, 16.0, 16, 9
    xm, tris = _tube(R, L, nt, nz, bend)
    m = 600
    th = rng.uniform(0, 2 * np.pi, m)
    s = rng.uniform(1.0, L - 1.0, m)
    th[:200] = np.round(th[:200] / (2 * np.pi / nt)) * 2 * np.pi / nt  # over the long edges
    s[:100] = np.round(s[:100] / (L / (nz - 1))) * L / (nz - 1)  # ... and over vertices
    sag = R * (1 - np.cos(np.pi / nt)) + (0.1 if bend else 0.0)  # faceting error
    delta = rng.choice([-1, 1], m) * rng.uniform(sag + 0.02, 0.6, m)
    pts = _tube_point(R + delta, th, s, bend)
    offset = 0.25
    pr = SurfaceContact(tris, np.full(m, offset), 1.0).gaps(pts, xm)
    assert (pr.triangle >= 0).all()
    assert np.array_equal(np.sign(pr.gap - offset), np.sign(delta))  # > 0: outside the lumen
    zeros = (pr.weights == 0).sum(1)
    assert {0, 1, 2} <= set(zeros[delta > 0])  # outside: faces, edges and vertices
    flipped = SurfaceContact(tris, np.full(m, offset), 1.0, side=-1).gaps(pts, xm)
    assert np.allclose(flipped.gap - offset, -(pr.gap - offset))


def test_tube_node_pushed_outward_settles_inside():
    """Nodes pushed out of a tube along facet normals, starting through the wall beyond edges
    and vertices: the contact pushes them back in, they settle on their facet with the load."""
    R, L, nt, nz = 4.0, 12.0, 12, 7
    xm, tris = _tube(R, L, nt, nz)
    mid = np.tile((np.arange(nt) + 0.5) * 2 * np.pi / nt, 2)  # facet normals' angles
    s = np.repeat([4.0, 5.0], nt)  # on a ring of vertices, between rings
    n = np.column_stack([np.cos(mid), np.sin(mid), np.zeros_like(mid)])
    xs = _tube_point(np.full(2 * nt, R + 0.6), mid + 0.24, s)  # beyond the facets' edges
    rest = _tube_point(np.full(2 * nt, R - 0.5), mid, s)
    ns = len(xs)
    c = SurfaceContact(tris, np.full(ns, 0.2), 100.0)
    start = c.gaps(xs, xm)
    assert (start.gap > 0.2).all()  # through the wall: penetrating
    assert ((start.weights == 0).sum(1) > 0).all()  # ... closest to edges or vertices
    ks = 1e-3 * np.eye(3) - (1e-3 - 1e-9) * n[:, :, None] * n[:, None, :]  # ~0 along the load
    ys, *_ = _equilibrium(c, xs, xm, 0.5 * n, k_slave=ks, rest=rest)
    assert np.allclose(c.contact_forces(), 0.5, rtol=1e-7)
    assert np.hypot(ys[:, 0], ys[:, 1]).max() < R
    end = c.gaps(ys, xm)
    assert np.abs(end.gap).max() <= 1e-4
    assert np.allclose(end.normal, n, atol=1e-12)  # on their own facet


def test_concave_corner_shared_by_two_faces():
    """Nodes pushed radially into the corners of a faceted tube (between two facets, on and
    between rings of vertices): both faces carry the load, Newton converges (a single closest
    face would flip at the bisector), and the tangent there matches finite differences."""
    R, L, nt, nz = 4.0, 12.0, 12, 7
    xm, tris = _tube(R, L, nt, nz)
    th = np.arange(nt) * 2 * np.pi / nt + 1e-9
    s = np.where(np.arange(nt) % 2, 5.0, 4.0)
    n = np.column_stack([np.cos(th), np.sin(th), np.zeros(nt)])
    xs = _tube_point(np.full(nt, R - 0.5), th, s)
    c = SurfaceContact(tris, np.full(nt, 0.2), 100.0, friction=0.3)
    ks = 1e-3 * np.eye(3) - (1e-3 - 1e-9) * n[:, :, None] * n[:, None, :]
    ys, _, f, sd, _ = _equilibrium(c, xs, xm, 0.5 * n, k_slave=ks)
    assert np.allclose(f[sd], 0.5 * n, atol=1e-8)  # the contact balances the load
    w = c._last["wts"]
    assert np.allclose(np.sort(w, axis=1)[:, -2:], 0.5, atol=1e-6)  # two faces, equal shares
    assert np.allclose(c.contact_forces(), 0.5 / np.cos(np.pi / nt), rtol=1e-6)
    assert c.gaps(ys, xm).gap.max() <= 1e-4
    y = ys + np.random.default_rng(6).normal(0, 2e-4, ys.shape)  # near the bisector
    md = np.full((len(xm), 3), -1)
    _, K = c.forces(y, xm, sd, md, 3 * nt)
    assert ((c._last["wts"] > 0).sum(1) == 2).all()
    Kfd = np.empty((3 * nt, 3 * nt))
    for j in range(3 * nt):
        e = 1e-7 * np.eye(3 * nt)[j].reshape(nt, 3)
        Kfd[:, j] = (c.forces(y + e, xm, sd, md, 3 * nt)[0]
                     - c.forces(y - e, xm, sd, md, 3 * nt)[0]) / 2e-7
    assert np.abs(K.toarray() - Kfd).max() <= 1e-5 * np.abs(Kfd).max()


def test_fixed_gaps_from_the_last_closest_triangle_match_a_fresh_search():
    """A fixed lumen searched again from each node's last closest triangle (as an explicit
    relaxation does, step after step) gives the gaps and gradients of a fresh search, and
    farther than 0.1 mm inside the lumen the gap is offset − the brute-force distance to the
    wall (within the smoothing band; nearer, two faces' pairs blend). Nodes also sit exactly
    on vertices and edges (equidistant triangles)."""
    rng = np.random.default_rng(3)
    xm, tris = _tube(2.0, 12.0, 24, 13, bend=15.0)
    n = 300
    th, s = rng.uniform(0, 2 * np.pi, n), rng.uniform(1.0, 11.0, n)
    xs = _tube_point(rng.uniform(1.2, 1.99, n), th, s, bend=15.0)
    xs[:40] = xm[rng.choice(len(xm), 40, replace=False)]  # on vertices
    xs[40:60] = 0.5 * (xm[tris[:20, 0]] + xm[tris[:20, 1]])  # on edges
    offset = np.full(n, 0.05)
    hinted = SurfaceContact(tris, offset, 1.0)
    hinted.fixed_gaps(xs, xm)
    for step in range(5):
        x = xs + 0.01 * step * rng.normal(size=xs.shape) * (np.arange(n) >= 60)[:, None]
        c, dc = hinted.fixed_gaps(x, xm)
        c0, dc0 = SurfaceContact(tris, offset, 1.0).fixed_gaps(x, xm)
        assert np.array_equal(c, c0) and np.allclose(dc, dc0, atol=1e-12)
    a, b, cc = (xm[tris[:, k]] for k in range(3))
    dist = np.array([np.linalg.norm(_brute_closest(p, a, b, cc) - p, axis=1).min() for p in x])
    inside = (np.arange(n) >= 60) & (dist > 0.1) & (dist < hinted.search_radius - 0.05)
    assert inside.sum() > 200
    assert np.allclose(c[inside], offset[inside] - dist[inside], atol=hinted._delta[0])
