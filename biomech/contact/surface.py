"""Frictional contact of beam nodes (slaves) with a triangulated surface (master): the vessel
lumen, whose vertices move with the FE wall, or a rigid one.

Sign convention. The triangles are oriented so that their normals ``n = (b−a)×(c−a)/|…|``
point out of the lumen into the wall. For a slave node at ``x_s`` with closest surface point
``p`` (the closest triangle: face, edge or vertex) the contact normal ``ν`` is the unit
vector along which penetration grows, and the penetration (mm) is

    g = ν · (x_s − p) + offset          (> 0: violation, the node's surface is in the wall)

With ``side=+1`` (device in the lumen) ``ν = n`` on a face; on an edge or a vertex
``ν = ±(x_s − p)/|x_s − p|``, the sign chosen so that ``ν`` agrees with the angle-weighted
pseudo-normal of that edge or vertex (Bærentzen & Aanæs 2005), which keeps the sign right on
curved, non-convex surfaces. ``side=−1`` flips ``ν``: the nodes must stay on the normals' side.

Folds. In a concave fold or corner (a dent in the wall, the lumen of a faceted tube) a node
presses on several faces at once, and the closest triangle flips between them at the fold's
bisector: Newton would cycle. So a node's pairs are its closest triangle plus the closest
features of other triangles within δ = ``SMOOTH`` × offset of that distance (up to ``MAXP``;
not coplanar with a pair, and not across a convex fold from it, where the closest distance
is already smooth), and its penetration is their smoothed maximum
``g = max_w (w·g_j − δ/2 |w|²) + δ/2`` over the simplex (w: the sparsemax weights): exactly
the largest g_j unless another is within δ of it, C¹ across the bisector, at most δ/2 above
the largest (a node settles at most δ/2 short of a fold's faces).

Normal force ``λ = max(0, λ_AL + k g)`` (N) per slave node along ``∇g = Σ w_j ∇g_j``
(augmented Lagrangian: ``augment`` updates λ_AL after each converged solve). Friction:
regularised Coulomb, a tangential spring ``k_t`` from the node to an anchor material point of
the master (triangle id + barycentric coordinates, stored by ``commit``) with a stick/slip
return map: trial ``t = k_t (I − ννᵀ)(x_s − x_A)`` (ν: the unit ``Σ w_j ν_j``), stick if
``|t| ≤ μλ``, else ``μλ t/|t|``. Forces are resisting (the residual convention of
``biomech.structures.static``): the slave gets ``λ Σ w_j ν_j + t``, the master vertices minus
the same through the barycentric weights of each closest point (normal) and of the anchor
(friction).

The tangent is the full linearisation at fixed multipliers and history: ``k ∇g ∇gᵀ + λ ∇²g``
(per pair: the rotation of the normal with the triangle, the sliding of ``p``, the curvature
about edges and vertices; and the change of the weights) plus the friction tangent (stick and
the non-symmetric slip one, including the rotation of the tangent plane). Forces in N,
stiffnesses in N/mm, lengths in mm.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from numba import njit

FACE = 0  # regions of the closest point: 0 face, 1 + k edge k (vertices k, k+1), 4 + v vertex v
MAXP = 4  # pairs per slave node: the closest triangle, other faces of a fold or corner
MAXC = 16  # nearest candidate triangles kept per slave node while searching
SMOOTH = 0.05  # smoothing width of the max over a node's pairs, as a share of its offset
_COPLANAR = 1.0 - 1e-10  # cos of the smallest fold angle that makes a second pair (~1e-5 rad)
_TINY = 1e-12


@njit(cache=True, inline="always")
def _dd(a, b, c, d):
    """(b − a)·(d − c) without temporaries."""
    return ((b[0] - a[0]) * (d[0] - c[0]) + (b[1] - a[1]) * (d[1] - c[1])
            + (b[2] - a[2]) * (d[2] - c[2]))


@njit(cache=True, inline="always")
def _dist2(x, w0, w1, w2, a, b, c):
    """|x − (w0 a + w1 b + w2 c)|²."""
    d2 = 0.0
    for i in range(3):
        e = x[i] - w0 * a[i] - w1 * b[i] - w2 * c[i]
        d2 += e * e
    return d2


@njit(cache=True)
def _closest_point(p, a, b, c):
    """Barycentric weights (w0, w1, w2) of the point of triangle abc closest to p and its
    region (Ericson, Real-Time Collision Detection, 5.1.5; degenerate triangles by edges)."""
    d1, d2 = _dd(a, b, a, p), _dd(a, c, a, p)
    if d1 <= 0.0 and d2 <= 0.0:
        return 1.0, 0.0, 0.0, 4
    d3, d4 = _dd(a, b, b, p), _dd(a, c, b, p)
    if d3 >= 0.0 and d4 <= d3:
        return 0.0, 1.0, 0.0, 5
    vc = d1 * d4 - d3 * d2
    if vc <= 0.0 and d1 >= 0.0 and d3 <= 0.0 and d1 - d3 > 0.0:
        v = d1 / (d1 - d3)
        return 1.0 - v, v, 0.0, 1
    d5, d6 = _dd(a, b, c, p), _dd(a, c, c, p)
    if d6 >= 0.0 and d5 <= d6:
        return 0.0, 0.0, 1.0, 6
    vb = d5 * d2 - d1 * d6
    if vb <= 0.0 and d2 >= 0.0 and d6 <= 0.0 and d2 - d6 > 0.0:
        w = d2 / (d2 - d6)
        return 1.0 - w, 0.0, w, 3
    va = d3 * d6 - d5 * d4
    if va <= 0.0 and d4 - d3 >= 0.0 and d5 - d6 >= 0.0 and (d4 - d3) + (d5 - d6) > 0.0:
        w = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        return 0.0, 1.0 - w, w, 2
    den = va + vb + vc  # = |ab × ac|²
    if den > _TINY * (_dd(a, b, a, b) + _dd(a, c, a, c)) ** 2:
        return 1.0 - (vb + vc) / den, vb / den, vc / den, FACE
    best = np.inf  # zero-area triangle: the closest of its three edges
    out = (1.0, 0.0, 0.0, 4)
    P = (a, b, c)
    for k in range(3):
        e0, e1 = P[k], P[(k + 1) % 3]
        L = _dd(e0, e1, e0, e1)
        t = 0.0 if L <= 0.0 else min(1.0, max(0.0, _dd(e0, e1, e0, p) / L))
        ww = np.zeros(3)
        ww[k] = 1.0 - t
        ww[(k + 1) % 3] = t
        d = _dist2(p, ww[0], ww[1], ww[2], a, b, c)
        if d < best:
            best = d
            out = (ww[0], ww[1], ww[2], 1 + k)
    return out


@njit(cache=True)
def _normals(xm, tris, tri_edge, n_edges):
    """Unit face normals, edge pseudo-normals (sum of the adjacent faces') and vertex
    pseudo-normals (angle-weighted), the latter two unnormalised."""
    fn = np.zeros((len(tris), 3))
    en = np.zeros((n_edges, 3))
    vn = np.zeros((len(xm), 3))
    for t in range(len(tris)):
        a, b, c = xm[tris[t, 0]], xm[tris[t, 1]], xm[tris[t, 2]]
        n = np.cross(b - a, c - a)
        L = np.sqrt(n @ n)
        if L > 0.0:
            n /= L
        fn[t] = n
        for k in range(3):
            en[tri_edge[t, k]] += n
            o = xm[tris[t, k]]
            e1 = xm[tris[t, (k + 1) % 3]] - o
            e2 = xm[tris[t, (k + 2) % 3]] - o
            cr = np.cross(e1, e2)
            vn[tris[t, k]] += np.arctan2(np.sqrt(cr @ cr), e1 @ e2) * n
    return fn, en, vn


@njit(cache=True)
def _hash(i, j, k, mask):
    return ((i * 73856093) ^ (j * 19349663) ^ (k * 83492791)) & mask


@njit(cache=True)
def _grid(xm, tris, radius):
    """Hashed uniform grid of the triangles' bounding boxes grown by ``radius``: a point lies in
    the grown box of every triangle within ``radius`` of it, so one cell lookup finds them.
    Returns the cell size, bucket starts, triangle ids and their own boxes in bucket order."""
    nt = len(tris)
    box = np.empty((nt, 6))
    h = 0.0
    for t in range(nt):
        for d in range(3):
            a, b, c = xm[tris[t, 0], d], xm[tris[t, 1], d], xm[tris[t, 2], d]
            box[t, d], box[t, 3 + d] = min(a, b, c), max(a, b, c)
        h += 2.0 * radius + (box[t, 3:] - box[t, :3]).max()
    h = max(h / nt, _TINY)
    cells = np.empty((nt, 6), np.int64)  # cell ranges of the grown boxes
    while True:  # coarsen if a few huge triangles would fill too many cells
        total = 0
        for t in range(nt):
            m = 1
            for d in range(3):
                cells[t, d] = int(np.floor((box[t, d] - radius) / h))
                cells[t, 3 + d] = int(np.floor((box[t, 3 + d] + radius) / h))
                m *= cells[t, 3 + d] - cells[t, d] + 1
            total += m
        if total <= 64 * nt:
            break
        h *= 1.5
    nb = 1
    while nb < 2 * total:
        nb *= 2
    start = np.zeros(nb + 1, np.int64)
    items = np.empty(total, np.int64)
    boxes = np.empty((total, 6))
    for fill in range(2):  # count, then fill
        cursor = start.copy()
        for t in range(nt):
            for i in range(cells[t, 0], cells[t, 3] + 1):
                for j in range(cells[t, 1], cells[t, 4] + 1):
                    for k in range(cells[t, 2], cells[t, 5] + 1):
                        b = _hash(i, j, k, nb - 1)
                        if fill:
                            items[cursor[b]] = t
                            boxes[cursor[b]] = box[t]
                            cursor[b] += 1
                        else:
                            start[b + 1] += 1
        if not fill:
            start = np.cumsum(start)
    return h, start, items, boxes


@njit(cache=True)
def _feature(t, reg, tris, tri_edge):
    """(kind, id) of the closest feature of triangle t: (0, t) face, (1, edge), (2, vertex)."""
    if reg == FACE:
        return 0, t
    if reg < 4:
        return 1, tri_edge[t, reg - 1]
    return 2, tris[t, reg - 4]


@njit(cache=True)
def _incident(kind, fid, t, edge_tris, fan_start, fan, ident):
    """Triangles incident to a feature (−1 entries: none): the face itself, the triangles
    sharing the edge, or the vertex's fan."""
    if kind == 0:
        return ident[t:t + 1]
    if kind == 1:
        return edge_tris[fid]
    return fan[fan_start[fid]:fan_start[fid + 1]]


@njit(cache=True)
def _covered(kind, fid, t, ukind, ufid, u, xm, tris, tri_edge, fn, edge_tris, fan_start, fan,
             ident, side):
    """Whether the pair of feature (ukind, ufid) already represents the closest feature
    (kind, fid) of triangle t: the same feature; or t is, or is coplanar with, a triangle v
    incident to it (a flat region is one pair); or the feature lies on such a v and t bends
    away from the node there (a convex fold: the distance to v alone is already smooth). A
    concave fold's other side stays a pair, with its true distance."""
    if kind == ukind and fid == ufid:
        return True
    for v in _incident(ukind, ufid, u, edge_tris, fan_start, fan, ident):
        if v < 0:
            continue
        if t == v or fn[t] @ fn[v] >= _COPLANAR:
            return True
        on_v = ((kind == 1 and (fid == tri_edge[v, 0] or fid == tri_edge[v, 1]
                                or fid == tri_edge[v, 2]))
                or (kind == 2 and (fid == tris[v, 0] or fid == tris[v, 1] or fid == tris[v, 2])))
        if on_v:
            centre = (xm[tris[t, 0]] + xm[tris[t, 1]] + xm[tris[t, 2]]) / 3.0
            if side * ((centre - xm[tris[v, 0]]) @ fn[v]) >= 0.0:
                return True
    return False


@njit(cache=True)
def _no_pairs(ns):
    """Empty pair slots of ``ns`` slaves: triangle, weights, region, point, normal, gap."""
    return (np.full((ns, MAXP), -1, np.int64), np.full((ns, MAXP, 3), np.nan),
            np.full((ns, MAXP), -1, np.int64), np.full((ns, MAXP, 3), np.nan),
            np.full((ns, MAXP, 3), np.nan), np.full((ns, MAXP), -np.inf))


@njit(cache=True)
def _project(xs, xm, tris, tri_edge, edge_tris, fan_start, fan, side, radius, band):
    """Contact pairs of each slave, ``MAXP`` slots (triangle −1: unused): slot 0 the closest
    triangle within ``radius`` (face, edge or vertex), then, nearest first, the closest
    features of other triangles within ``band`` (per slave) of that distance that no pair
    represents yet (``_covered``). Per pair: barycentric weights, region, point p, normal ν
    and signed normal distance ν·(x_s − p)."""
    if len(tris) == 0 or len(xs) == 0:
        return _no_pairs(len(xs))
    h, start, items, boxes = _grid(xm, tris, radius)
    fn, en, vn = _normals(xm, tris, tri_edge, len(edge_tris))
    return _project_on(xs, xm, tris, tri_edge, edge_tris, fan_start, fan, side, radius, band,
                       h, start, items, boxes, fn, en, vn, np.empty(0, np.int64))


@njit(cache=True)
def _project_on(xs, xm, tris, tri_edge, edge_tris, fan_start, fan, side, radius, band,
                h, start, items, boxes, fn, en, vn, hint):
    """``_project`` with the master's grid and normals given (a fixed master surface).
    ``hint`` (per slave; empty: none): a triangle tried first, e.g. the slave's closest at the
    last call, so the search bound starts tight. Of equidistant triangles the lowest id takes
    slot 0 either way; the other slots may list equidistant features in another order (the
    smoothed gaps are the same)."""
    ns = len(xs)
    tri, w, region, p, nu, gn = _no_pairs(ns)
    mask = len(start) - 2
    ident = np.arange(len(tris))
    ct = np.empty(MAXC, np.int64)  # nearest candidates of one slave
    cd = np.empty(MAXC)
    cr = np.empty(MAXC, np.int64)
    cw = np.empty((MAXC, 3))
    for s in range(ns):
        x = xs[s]
        b = _hash(int(np.floor(x[0] / h)), int(np.floor(x[1] / h)), int(np.floor(x[2] / h)), mask)
        best = radius * radius
        bound = best  # squared search distance: min(radius, closest + band)²
        nc = 0
        first = hint[s] if len(hint) else -1
        if first >= 0:  # the hinted triangle, as the loop below would take it
            a, bb, c = xm[tris[first, 0]], xm[tris[first, 1]], xm[tris[first, 2]]
            w0, w1, w2, reg = _closest_point(x, a, bb, c)
            d2 = _dist2(x, w0, w1, w2, a, bb, c)
            if d2 <= best:
                best = d2
                bound = min(radius, np.sqrt(best) + band[s]) ** 2
                tri[s, 0] = first
                w[s, 0, 0], w[s, 0, 1], w[s, 0, 2] = w0, w1, w2
                region[s, 0] = reg
                ct[0], cd[0], cr[0] = first, d2, reg
                cw[0, 0], cw[0, 1], cw[0, 2] = w0, w1, w2
                nc = 1
        for m in range(start[b], start[b + 1]):
            box = 0.0  # squared distance to the triangle's box: a lower bound
            for d in range(3):
                e = max(boxes[m, d] - x[d], x[d] - boxes[m, 3 + d], 0.0)
                box += e * e
            if box > bound:
                continue
            t = items[m]
            if t == first:
                continue
            a, bb, c = xm[tris[t, 0]], xm[tris[t, 1]], xm[tris[t, 2]]
            w0, w1, w2, reg = _closest_point(x, a, bb, c)
            d2 = _dist2(x, w0, w1, w2, a, bb, c)
            if d2 > bound:
                continue
            if d2 < best or (d2 == best and (tri[s, 0] < 0 or t < tri[s, 0])):
                best = d2
                bound = min(radius, np.sqrt(best) + band[s]) ** 2
                tri[s, 0] = t
                w[s, 0, 0], w[s, 0, 1], w[s, 0, 2] = w0, w1, w2
                region[s, 0] = reg
            k = nc  # keep the MAXC nearest candidates
            if nc == MAXC:
                k = np.argmax(cd)
                if cd[k] <= d2:
                    continue
            else:
                nc += 1
            ct[k], cd[k], cr[k] = t, d2, reg
            cw[k, 0], cw[k, 1], cw[k, 2] = w0, w1, w2
        t0 = tri[s, 0]
        if t0 < 0:
            continue
        j = 1
        while j < MAXP:  # other features within the band, nearest first
            q = np.argmin(cd[:nc])
            if cd[q] > bound:
                break
            cd[q] = np.inf
            t, reg = ct[q], cr[q]
            kind, fid = _feature(t, reg, tris, tri_edge)
            new = True
            for i in range(j):
                ukind, ufid = _feature(tri[s, i], region[s, i], tris, tri_edge)
                new = new and not _covered(kind, fid, t, ukind, ufid, tri[s, i], xm, tris,
                                           tri_edge, fn, edge_tris, fan_start, fan, ident, side)
            if new:
                tri[s, j], w[s, j], region[s, j] = t, cw[q], reg
                j += 1
        for j in range(MAXP):
            t = tri[s, j]
            if t < 0:
                break
            p[s, j] = w[s, j, 0] * xm[tris[t, 0]] + w[s, j, 1] * xm[tris[t, 1]] \
                + w[s, j, 2] * xm[tris[t, 2]]
            r = x - p[s, j]
            d = np.sqrt(r @ r)
            if region[s, j] == FACE:
                nu[s, j] = side * fn[t]
            else:
                reg = region[s, j]
                ps = en[tri_edge[t, reg - 1]] if reg < 4 else vn[tris[t, reg - 4]]
                if d > _TINY:
                    nu[s, j] = (side if r @ ps >= 0.0 else -side) * r / d
                else:
                    nu[s, j] = side * ps / max(np.sqrt(ps @ ps), _TINY)
            gn[s, j] = nu[s, j] @ r
    return tri, w, region, p, nu, gn


@njit(cache=True)
def _gap_hessian(xt, w, region, nu, gn, base, H):
    """Gradient slot weights G and Hessian ∇²g of one pair into H (3 per slot; slot 0 the
    slave, slots base..base+2 the triangle's vertices; H zeroed first):
    (1/g_n) G Gᵀ⊗Q − Σ m^αβ [(G⊗τ_α)(E_β⊗ν)ᵀ + (E_β⊗ν)(G⊗τ_α)ᵀ + g_n (E_α⊗ν)(E_β⊗ν)ᵀ],
    G = (1, −w), τ_α the free directions of the closest point, E_α their vertex differences,
    Q = I − ννᵀ − Σ τ_α m^αβ τ_βᵀ (curvature about an edge or a vertex; 0 on a face)."""
    nloc = H.shape[0] // 3
    H[:] = 0.0
    G = np.zeros(nloc)
    G[0] = 1.0
    G[base:base + 3] = -w
    sl = np.array([0, base, base + 1, base + 2])  # the slots where G, E are not zero
    tau = np.zeros((2, 3))
    E = np.zeros((2, nloc))
    nf = 0
    if region == FACE:
        nf = 2
        for al in range(2):
            tau[al] = xt[al + 1] - xt[0]
            E[al, base + 1 + al] = 1.0
            E[al, base] = -1.0
    elif region < 4:
        nf = 1
        i, j = region - 1, region % 3
        tau[0] = xt[j] - xt[i]
        E[0, base + j] = 1.0
        E[0, base + i] = -1.0
    minv = np.zeros((2, 2))  # inverse metric of the free directions
    if nf == 2:
        m00, m01, m11 = tau[0] @ tau[0], tau[0] @ tau[1], tau[1] @ tau[1]
        det = m00 * m11 - m01 * m01
        minv[0, 0], minv[1, 1] = m11 / det, m00 / det
        minv[0, 1] = minv[1, 0] = -m01 / det
    elif nf == 1:
        minv[0, 0] = 1.0 / (tau[0] @ tau[0])
    Q = np.zeros((3, 3))
    if region != FACE and abs(gn) > _TINY:
        for i in range(3):
            for j in range(3):
                Q[i, j] = ((i == j) - nu[i] * nu[j] - minv[0, 0] * tau[0, i] * tau[0, j]) / gn
    for a in sl:
        for b in sl:
            for i in range(3):
                for j in range(3):
                    h = G[a] * G[b] * Q[i, j]
                    for al in range(nf):
                        for be in range(nf):
                            h -= minv[al, be] * (G[a] * tau[al, i] * E[be, b] * nu[j]
                                                 + E[be, a] * nu[i] * G[b] * tau[al, j]
                                                 + gn * E[al, a] * nu[i] * E[be, b] * nu[j])
                    H[3 * a + i, 3 * b + j] = h
    return G


@njit(cache=True)
def _smooth_max(g, delta, wts):
    """Smoothed maximum c = max over w in the simplex of w·g − δ/2 |w|² + δ/2 of the gaps g
    (mm) and its weights (sparsemax of g/δ, written to wts): c = max g where one gap leads the
    others by δ, c ≤ max g + δ/2 at a tie; ∂c/∂g = w, ∂w/∂g = (I − 11ᵀ/|S|)/δ on the support."""
    m = len(g)
    z = np.sort(g / delta)[::-1]
    tau = z[0] - 1.0
    acc = 0.0
    for i in range(m):
        acc += z[i]
        if z[i] > (acc - 1.0) / (i + 1):
            tau = (acc - 1.0) / (i + 1)
    c = delta / 2.0
    for i in range(m):
        wts[i] = max(0.0, g[i] / delta - tau)
        c += wts[i] * g[i] - delta / 2.0 * wts[i] ** 2
    return c


@njit(cache=True)
def _pair_gap(tri_s, gn_s, offset_s, delta_s, wts_s):
    """One slave's number of pairs m and the smoothed maximum of their gaps (−inf when m = 0;
    the weights written to ``wts_s``)."""
    m = 0
    while m < MAXP and tri_s[m] >= 0:
        m += 1
    if m == 0:
        return 0, -np.inf
    return m, _smooth_max(gn_s[:m] + offset_s, delta_s, wts_s)


@njit(cache=True)
def _smoothed_gaps(tri, nu, gn, offset, delta):
    """Per slave the smoothed maximum c of its pairs' gaps (−inf: no pair) and ∇c = Σ w ν."""
    ns = len(tri)
    c = np.full(ns, -np.inf)
    grad = np.zeros((ns, 3))
    wts = np.zeros(MAXP)
    for s in range(ns):
        m, c[s] = _pair_gap(tri[s], gn[s], offset[s], delta[s], wts)
        for j in range(m):
            grad[s] += wts[j] * nu[s, j]
    return c, grad


@njit(cache=True)
def _assemble(xs, xm, tris, tri, w, region, nu, gn, offset, delta, lam_al, k, kt, mu,
              anchor_tri, anchor_w, slave_dofs, master_dofs, n_dof, assemble):
    """Per slave: the smoothed maximum c of its pairs' gaps and their weights, the normal force
    λ = max(0, λ_AL + k c) acting along ∇c = Σ w ∇g, the friction force (resisting, on the
    slave) and slip flag; and the resisting force vector and tangent (COO triplets). Local
    slots: 0 the slave, then 3 per triangle block: the weighted pairs' triangles, then the
    anchor's if not among them."""
    ns = len(xs)
    c = np.full(ns, -np.inf)
    lam = np.zeros(ns)
    wts = np.zeros((ns, MAXP))
    ft = np.zeros((ns, 3))
    slip = np.zeros(ns, np.bool_)
    blocks = np.full((ns, MAXP + 1), -1, np.int64)  # triangle per block
    pair = np.full((ns, MAXP + 1), -1, np.int64)  # pair per block (−1: the anchor's)
    nblk = np.zeros(ns, np.int64)
    cap = 0
    for s in range(ns):
        m, c[s] = _pair_gap(tri[s], gn[s], offset[s], delta[s], wts[s])
        if m == 0:
            continue
        lam[s] = max(0.0, lam_al[s] + k * c[s])
        if lam[s] <= 0.0:
            continue
        for j in range(m):
            if wts[s, j] > 0.0:
                blocks[s, nblk[s]], pair[s, nblk[s]] = tri[s, j], j
                nblk[s] += 1
        if mu[s] > 0.0 and anchor_tri[s] >= 0:
            known = False
            for q in range(nblk[s]):
                known = known or blocks[s, q] == anchor_tri[s]
            if not known:
                blocks[s, nblk[s]] = anchor_tri[s]
                nblk[s] += 1
        cap += (3 + 9 * nblk[s]) ** 2
    f = np.zeros(n_dof)
    rows = np.empty(cap if assemble else 0, np.int64)
    cols = np.empty(cap if assemble else 0, np.int64)
    vals = np.empty(cap if assemble else 0)
    cnt = 0
    nmax = 3 + 9 * (MAXP + 1)
    Hbuf = np.zeros((nmax, nmax))
    grads = np.zeros((MAXP, nmax))
    dofs = np.empty(nmax, np.int64)
    I3 = np.eye(3)
    xt = np.empty((3, 3))
    for s in range(ns):
        nb = nblk[s]
        if nb == 0:
            continue
        nl = 1 + 3 * nb
        n3 = 3 * nl
        H = Hbuf[:n3, :n3]
        Hc = np.zeros((n3, n3))  # ∇²c
        gc = np.zeros(n3)  # ∇c
        nbar = np.zeros(3)  # Σ w ν and its derivative
        Dnb = np.zeros((3, n3))
        ns_ = 0
        for b in range(nb):
            j = pair[s, b]
            if j < 0:
                continue
            t = tri[s, j]
            for i in range(3):
                xt[i] = xm[tris[t, i]]
            G = _gap_hessian(xt, w[s, j], region[s, j], nu[s, j], gn[s, j], 1 + 3 * b, H)
            grads[ns_, :n3] = np.outer(G, nu[s, j]).ravel()
            Hc += wts[s, j] * H
            gc += wts[s, j] * grads[ns_, :n3]
            nbar += wts[s, j] * nu[s, j]
            Dnb += wts[s, j] * H[0:3, :]
            ns_ += 1
        gsum = grads[:ns_, :n3].sum(axis=0) / ns_
        for b in range(ns_):  # ∂w/∂X = (∇g − mean ∇g)/δ on the support
            dw = (grads[b, :n3] - gsum) / delta[s]
            Hc += np.outer(grads[b, :n3], dw)
            Dnb += np.outer(nu[s, pair[s, b]], dw)
        fl = lam[s] * gc
        Kl = k * np.outer(gc, gc) + lam[s] * Hc
        nn = np.sqrt(nbar @ nbar)
        if mu[s] > 0.0 and anchor_tri[s] >= 0 and nn > _TINY:
            at = anchor_tri[s]
            ba = 0
            while blocks[s, ba] != at:
                ba += 1
            WA = np.zeros(nl)  # x_s − x_anchor, by slot
            WA[0] = 1.0
            xa = np.zeros(3)
            for i in range(3):
                WA[1 + 3 * ba + i] -= anchor_w[s, i]
                xa += anchor_w[s, i] * xm[tris[at, i]]
            wv = xs[s] - xa
            v = nbar / nn  # the (smoothed) normal and its derivative
            Dn = (I3 - np.outer(v, v)) @ Dnb / nn
            P = I3 - np.outer(v, v)
            tr = kt * (P @ wv)
            dt = -kt * ((v @ wv) * Dn + np.outer(v, wv @ Dn))
            for a in range(nl):
                dt[:, 3 * a:3 * a + 3] += kt * WA[a] * P
            tn = np.sqrt(tr @ tr)
            if tn <= mu[s] * lam[s]:
                fv = tr
                dfv = dt
            else:
                slip[s] = True
                th = tr / tn
                fv = mu[s] * lam[s] * th
                dfv = (mu[s] * k * np.outer(th, gc)
                       + (mu[s] * lam[s] / tn) * ((I3 - np.outer(th, th)) @ dt))
            ft[s] = fv
            fl += np.outer(WA, fv).ravel()
            for a in range(nl):
                Kl[3 * a:3 * a + 3] += WA[a] * dfv
        dofs[0:3] = slave_dofs[s]
        for q in range(nb):
            for i in range(3):
                dofs[3 + 9 * q + 3 * i:6 + 9 * q + 3 * i] = master_dofs[tris[blocks[s, q], i]]
        for i in range(n3):
            if dofs[i] >= 0:
                f[dofs[i]] += fl[i]
        if assemble:
            for i in range(n3):
                if dofs[i] < 0:
                    continue
                for j in range(n3):
                    if dofs[j] >= 0:
                        rows[cnt] = dofs[i]
                        cols[cnt] = dofs[j]
                        vals[cnt] = Kl[i, j]
                        cnt += 1
    return f, rows[:cnt], cols[:cnt], vals[:cnt], c, lam, wts, ft, slip


class SurfaceProjection(NamedTuple):
    """Per slave: penetration g (mm, > 0 violation; −inf beyond the search radius), closest
    point (mm), triangle id (−1: none), barycentric weights, contact normal ν (unit)."""

    gap: np.ndarray
    point: np.ndarray
    triangle: np.ndarray
    weights: np.ndarray
    normal: np.ndarray


class SurfaceContact:
    """Node-to-surface contact of slave nodes against master triangles (see module docstring)."""

    def __init__(self, triangles: np.ndarray, offset: np.ndarray, penalty: float, *,
                 friction: float = 0.0, tangential_penalty: float | None = None, side: int = +1,
                 search_radius: float | None = None) -> None:
        """triangles (t, 3) into the master points, normals out of the lumen; offset (ns,) mm
        (half strut thickness); penalty k N/mm; Coulomb μ; k_t N/mm (default k); side ±1;
        search_radius mm (default: max offset + 2 × mean master edge length, at first use)."""
        tris = np.ascontiguousarray(triangles, np.int64).reshape(-1, 3)
        if side not in (1, -1):
            raise ValueError(f"side must be +1 or -1, not {side!r}")
        if penalty <= 0 or friction < 0:
            raise ValueError("penalty must be > 0 and friction >= 0")
        self.triangles = tris
        self.offset = np.ascontiguousarray(offset, float).reshape(-1)
        self.penalty = float(penalty)
        self.friction = float(friction)
        kt = penalty if tangential_penalty is None else tangential_penalty
        self.tangential_penalty = float(kt)
        self.side = int(side)
        self.search_radius = None if search_radius is None else float(search_radius)
        e = np.sort(np.stack([tris, np.roll(tris, -1, axis=1)], axis=-1).reshape(-1, 2), axis=1)
        self._edges, inv = np.unique(e, axis=0, return_inverse=True)
        self._tri_edge = np.ascontiguousarray(inv.reshape(-1, 3), np.int64)
        order = np.argsort(inv.ravel(), kind="stable")  # edge → its (first two) triangles
        first = np.searchsorted(inv.ravel()[order], np.arange(len(self._edges)))
        count = np.diff(np.append(first, len(order)))
        self._edge_tris = np.full((len(self._edges), 2), -1, np.int64)
        self._edge_tris[:, 0] = order[first] // 3
        two = count > 1
        self._edge_tris[two, 1] = order[first[two] + 1] // 3
        order = np.argsort(tris.ravel(), kind="stable")  # vertex → its fan (CSR)
        self._fan = np.ascontiguousarray(order // 3, np.int64)
        self._fan_start = np.searchsorted(tris.ravel()[order],
                                          np.arange(tris.max(initial=-1) + 2)).astype(np.int64)
        ns = len(self.offset)
        self._delta = np.maximum(SMOOTH * self.offset, 1e-6)  # smoothing of the max, mm
        self.multipliers = np.zeros(ns)  # λ_AL per slave node, N
        self.friction_mask = np.ones(ns)  # × friction per slave node (0: frictionless)
        self.anchor_tri = np.full(ns, -1, np.int64)  # committed friction history
        self.anchor_w = np.zeros((ns, 3))
        self._last: dict | None = None
        self._fixed: tuple | None = None  # fixed_gaps' master, grid and normals
        self._fixed_hint = np.empty(0, np.int64)  # per slave: its closest triangle last time

    def _radius(self, xm: np.ndarray) -> float:
        if self.search_radius is None:
            L = np.linalg.norm(xm[self._edges[:, 1]] - xm[self._edges[:, 0]], axis=1)
            mean_edge = L.mean() if L.size else 0.0
            self.search_radius = float(self.offset.max(initial=0.0) + 2.0 * mean_edge)
        return self.search_radius

    def _project(self, xs, xm, radius=None):
        xs = np.ascontiguousarray(xs, float).reshape(-1, 3)
        xm = np.ascontiguousarray(xm, float).reshape(-1, 3)
        r = self._radius(xm) if radius is None else float(radius)
        return xs, xm, _project(xs, xm, self.triangles, self._tri_edge, self._edge_tris,
                                self._fan_start, self._fan, float(self.side), r, self._delta)

    def fixed_gaps(self, x_slave: np.ndarray, x_master: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Against a master that does not move between calls (its search grid and normals are
        built once, at the first call, for these ``x_master``): per slave the smoothed gap c
        (mm, > 0 violation, −inf beyond the search radius; the smoothed maximum over its
        pairs, as in the forces) and its gradient ∂c/∂x_slave (n, 3)."""
        xs = np.ascontiguousarray(x_slave, float).reshape(-1, 3)
        if self._fixed is None or self._fixed[0] is not x_master:
            xm = np.ascontiguousarray(x_master, float).reshape(-1, 3)
            r = self._radius(xm)
            grid = _grid(xm, self.triangles, r)
            normals = _normals(xm, self.triangles, self._tri_edge, len(self._edge_tris))
            self._fixed = (x_master, xm, r, grid, normals)
            self._fixed_hint = np.empty(0, np.int64)
        _, xm, r, grid, normals = self._fixed
        hint = self._fixed_hint if len(self._fixed_hint) == len(xs) else np.empty(0, np.int64)
        tri, _, _, _, nu, gn = _project_on(xs, xm, self.triangles, self._tri_edge,
                                           self._edge_tris, self._fan_start, self._fan,
                                           float(self.side), r, self._delta, *grid, *normals,
                                           hint)
        self._fixed_hint = np.ascontiguousarray(tri[:, 0])  # where the next search starts
        return _smoothed_gaps(tri, nu, gn, self.offset, self._delta)

    def _evaluate(self, xs, xm, slave_dofs, master_dofs, n_dof, assemble):
        xs, xm, (tri, w, region, p, nu, gn) = self._project(xs, xm)
        sd = np.ascontiguousarray(slave_dofs, np.int64).reshape(-1, 3)
        md = np.ascontiguousarray(master_dofs, np.int64).reshape(-1, 3)
        f, rows, cols, vals, c, lam, wts, ft, slip = _assemble(
            xs, xm, self.triangles, tri, w, region, nu, gn, self.offset, self._delta,
            self.multipliers, self.penalty, self.tangential_penalty,
            self.friction * self.friction_mask,
            self.anchor_tri, self.anchor_w, sd, md, int(n_dof), assemble)
        self._last = {"xm": xm, "tri": tri, "w": w, "p": p, "c": c, "lam": lam, "wts": wts,
                      "ft": ft, "slip": slip}
        return f, sp.coo_matrix((vals, (rows, cols)), shape=(n_dof, n_dof))

    def forces(self, x_slave: np.ndarray, x_master: np.ndarray, slave_dofs: np.ndarray,
               master_dofs: np.ndarray, n_dof: int) -> tuple[np.ndarray, sp.coo_matrix]:
        """Resisting contact + friction forces (N) on slave and master DOFs (dof −1: not a DOF)
        and their tangent (N/mm), at the current multipliers and committed friction history."""
        return self._evaluate(x_slave, x_master, slave_dofs, master_dofs, n_dof, True)

    def _no_dofs(self, xs, xm):
        self._evaluate(xs, xm, np.full((len(self.offset), 3), -1), np.full((len(xm), 3), -1), 0,
                       False)

    def augment(self, x_slave: np.ndarray, x_master: np.ndarray) -> float:
        """Uzawa update λ_AL ← max(0, λ_AL + k g); returns the complementarity error (mm)
        before it: the largest penetration, or gap of a node that still carries force."""
        self._no_dofs(x_slave, x_master)
        c, lam = self._last["c"], self._last["lam"]
        self.multipliers = lam.copy()
        return float(max(0.0, c.max(initial=0.0), np.abs(c[lam > 0.0]).max(initial=0.0)))

    def saved(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies of what a solve changes (multipliers, friction anchors), for ``restore``."""
        return self.multipliers.copy(), self.anchor_tri.copy(), self.anchor_w.copy()

    def restore(self, saved: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        """Back to the multipliers and anchors of ``saved()`` (a failed solve undone)."""
        self.multipliers, self.anchor_tri, self.anchor_w = (a.copy() for a in saved)

    def commit(self, x_slave: np.ndarray | None = None, x_master: np.ndarray | None = None) -> None:
        """Store the friction history (anchors) of a converged step: from the last evaluation
        (``augment`` at the converged state), or re-evaluated at the given positions. Sticking
        nodes keep their anchor, slipping ones get the return-mapped anchor p − f_t/k_t, nodes
        without force get the current closest point (so a new contact starts from there)."""
        if x_slave is not None:
            self._no_dofs(x_slave, x_master)
        if self._last is None:
            return
        L = self._last
        tri, lam, slip = L["tri"], L["lam"], L["slip"]
        free = (lam <= 0.0) | (self.anchor_tri < 0)
        self.anchor_tri = np.where(free, tri[:, 0], self.anchor_tri)
        self.anchor_w = np.where(free[:, None], np.nan_to_num(L["w"][:, 0]), self.anchor_w)
        s = np.flatnonzero(slip)
        if s.size:  # re-anchored on the pair of largest weight
            j = np.argmax(L["wts"][s], axis=1)
            t = tri[s, j]
            x = L["xm"][self.triangles[t]]  # (n, 3 vertices, 3)
            tau = x[:, 1:] - x[:, :1]
            q = L["p"][s, j] - L["ft"][s] / self.tangential_penalty - x[:, 0]
            xi = np.linalg.solve(tau @ tau.transpose(0, 2, 1), (tau @ q[:, :, None]))[:, :, 0]
            self.anchor_tri[s] = t
            self.anchor_w[s] = np.column_stack([1.0 - xi.sum(1), xi])

    def gaps(self, x_slave: np.ndarray, x_master: np.ndarray,
             radius: float | None = None) -> SurfaceProjection:
        """Penetration (mm, > 0 violation, −inf beyond ``radius``, default the search radius),
        closest points, triangle ids, barycentric weights and normals per slave node (its
        closest triangle)."""
        _, _, (tri, w, _, p, nu, gn) = self._project(x_slave, x_master, radius)
        return SurfaceProjection(gn[:, 0] + self.offset, p[:, 0], tri[:, 0], w[:, 0], nu[:, 0])

    def contact_forces(self) -> np.ndarray:
        """Converged normal contact force (N) per slave node (the multipliers)."""
        return self.multipliers.copy()

    def friction_forces(self) -> np.ndarray:
        """Friction force (N, (ns, 3)) the surface exerts on each slave node at the last
        evaluation (opposes its slip; tangential)."""
        if self._last is None:
            return np.zeros((len(self.offset), 3))
        return -self._last["ft"].copy()

    def active(self) -> np.ndarray:
        """Mask of the slave nodes carrying normal force at the last evaluation."""
        return self.multipliers > 0.0 if self._last is None else self._last["lam"] > 0.0

    def pressure(self, slave_area: np.ndarray) -> np.ndarray:
        """Contact pressure (MPa) per slave node given its tributary surface area (mm²)."""
        return self.contact_forces() / np.asarray(slave_area, float)
