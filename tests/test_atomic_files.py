"""Outputs written atomically keep the usual file mode (readable by others under a 022
umask), not the 0600 of the temporary file they were renamed from."""

import os
import stat

import meshio
import numpy as np

from biomech.results import _atomic_meshio, _atomic_text


def test_atomic_outputs_have_the_mode_a_plain_write_gives(tmp_path):
    old = os.umask(0o022)
    try:
        _atomic_text(tmp_path / "summary.json", "{}\n")
        mesh = meshio.Mesh(np.eye(3), [("line", np.array([[0, 1], [1, 2]]))])
        _atomic_meshio(mesh, tmp_path / "device.vtu")
        with open(tmp_path / "plain.txt", "w") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"summary.json": 0o644, "device.vtu": 0o644, "plain.txt": 0o644}
    assert (tmp_path / "summary.json").read_text() == "{}\n"
