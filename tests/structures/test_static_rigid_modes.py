"""Rigid-mode constraint rows: one set per separate body of a beam network."""

import numpy as np

from biomech.structures.static import body_rigid_mode_rows, rigid_mode_rows


def _ring(z, n=8, r=10.0):
    t = 2 * np.pi * np.arange(n) / n
    return np.column_stack([r * np.cos(t), r * np.sin(t), np.full(n, z)])


def test_one_set_of_rows_per_unconnected_ring():
    x = np.vstack([_ring(0.0), _ring(20.0)])
    beams = np.array([(i, (i + 1) % 8) for i in range(8)] + [(8 + i, 8 + (i + 1) % 8)
                                                             for i in range(8)])
    n_dof = 6 * len(x)
    C = body_rigid_mode_rows(x, beams, np.zeros((0, 2), int), n_dof).toarray()
    assert C.shape == (12, n_dof) and np.linalg.matrix_rank(C) == 12
    twist = np.zeros(n_dof)  # the second ring alone turns about the axis
    turned = np.cross([0.0, 0.0, 1e-3], x[8:])
    for k in range(3):
        twist[6 * np.arange(8, 16) + k] = turned[:, k]
    assert np.abs(C[:6] @ twist).max() == 0.0 and np.abs(C[6:] @ twist).max() > 1e-4
    assert np.abs(rigid_mode_rows(x, n_dof).toarray() @ twist).max() > 0  # seen globally...
    both = twist.copy()  # ...but the two rings turning oppositely is invisible to it
    for k in range(3):
        both[6 * np.arange(8) + k] = -np.cross([0.0, 0.0, 1e-3], x[:8])[:, k]
    assert np.abs(rigid_mode_rows(x, n_dof).toarray() @ both).max() < 1e-15
    assert np.abs(C @ both).max() > 1e-4
    tied = body_rigid_mode_rows(x, beams, np.array([[0, 8]]), n_dof)  # a tie joins them
    assert tied.shape == (6, n_dof)
