"""Parallel assembly: chunk colouring is race-free and the chunk size does not change K, f."""

import numpy as np
import pytest

from biomech.fem.assembly import chunked_coloring, color_chunks, parallel_efficiency
from biomech.mesh.generate import box
from biomech.model import Model


def _chunks_of_a_colour_share_no_node(conn, chunk, ptr, order):
    for c in range(len(ptr) - 1):
        seen = np.zeros(conn.max() + 1, dtype=np.int64)
        for idx in order[ptr[c] : ptr[c + 1]]:
            nodes = np.unique(conn[idx * chunk : (idx + 1) * chunk])
            seen[nodes] += 1
        if seen.max() > 1:
            return False
    return True


@pytest.mark.parametrize("shuffle", [False, True])
def test_chunked_colouring_is_race_free_and_covers_every_chunk(shuffle):
    conn = box((4.0, 2.0, 2.0), (24, 8, 8), "tetra10").blocks[0].conn
    if shuffle:  # a mesher's arbitrary element order
        conn = conn[np.random.default_rng(1).permutation(len(conn))]
    n_nodes = conn.max() + 1
    chunk, ptr, order = chunked_coloring(conn, n_nodes, threads=2)
    n_chunks = -(-len(conn) // chunk)
    assert sorted(order.tolist()) == list(range(n_chunks))
    assert _chunks_of_a_colour_share_no_node(conn, chunk, ptr, order)
    assert parallel_efficiency(ptr, 2) >= 0.85 or chunk == 64
    if not shuffle:  # a banded order affords long chunks: few sweeps over the tangent
        assert chunk > 64 and len(ptr) - 1 <= 8


def test_parallel_efficiency_counts_idle_threads():
    # colours of 4, 3 and 1 chunks on 2 threads: 8 chunks in 2 + 2 + 1 = 5 rounds of 2
    assert parallel_efficiency(np.array([0, 4, 7, 8]), 2) == pytest.approx(8 / 10)
    assert parallel_efficiency(np.array([0, 6]), 1) == 1.0


def test_chunk_size_does_not_change_the_assembly():
    mesh = box((3.0, 1.0, 1.0), (24, 8, 8), "hexahedron")
    model = Model(mesh)
    model.add_material("all", "neo-hookean", mu=0.06, bulk=6.0)
    model.fix("xmin")
    model.add_pressure("xmax", 0.01)
    problem = model.compile()
    u = np.random.default_rng(0).normal(scale=0.01, size=problem.n_dofs)
    R1, data1, _ = problem.assemble(u, 1.0, True)
    data1 = data1.copy()
    block = problem.solids[0]
    assert block.chunk > 64  # the default picked long chunks on this banded mesh
    block.chunk = 64
    block.color_ptr, block.color_chunks = color_chunks(block.conn, problem.n_nodes, 64)
    R2, data2, _ = problem.assemble(u, 1.0, True)
    np.testing.assert_allclose(R2, R1, rtol=0, atol=1e-13 * np.abs(R1).max())
    np.testing.assert_allclose(data2, data1, rtol=0, atol=1e-13 * np.abs(data1).max())


def test_pattern_is_every_node_pair_sharing_an_element_or_face():
    from biomech.fem.assembly import build_pattern

    rng = np.random.default_rng(3)
    n_nodes = 40  # node 39 is in no element: it keeps its diagonal only
    tets = rng.integers(0, 39, size=(30, 10))
    faces = rng.integers(0, 39, size=(12, 6))
    pattern = build_pattern(n_nodes, [tets, faces, np.empty((0, 4), dtype=np.int64)])
    expected = [{A} for A in range(n_nodes)]
    for row in list(tets) + list(faces):
        for A in row:
            expected[A].update(row.tolist())
    for A in range(n_nodes):
        got = pattern.nind[pattern.nptr[A] : pattern.nptr[A + 1]].tolist()
        assert got == sorted(expected[A])
    # dof level: row 3A+i holds columns 3B+j for every neighbour B, ascending
    dense = np.zeros((3 * n_nodes, 3 * n_nodes), dtype=bool)
    for A in range(n_nodes):
        for B in expected[A]:
            dense[3 * A : 3 * A + 3, 3 * B : 3 * B + 3] = True
    m = pattern.matrix(np.ones(pattern.nnz))
    np.testing.assert_array_equal(m.toarray().astype(bool), dense)
    assert m.has_canonical_format
