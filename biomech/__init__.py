"""biomech: patient-specific biomechanical twins on a numba-JIT nonlinear FE solver.

Units inside: mm, N, MPa (N/mm²), s. Quantities at the edges may carry units
("120 mmHg", "1.5 mm", "0.3 MPa").
"""

from biomech.errors import BiomechError, CaseError, ConvergenceError, MaterialError, MeshError, UnitError
from biomech.mesh.core import Mesh
from biomech.model import Model

__version__ = "0.1.0"


def read_mesh(path, units: str = "mm") -> Mesh:
    """Read a volume mesh (any format meshio reads) with regions and face sets, in mm."""
    from biomech.mesh.io import read_mesh as _read

    return _read(path, units=units)


def load_case(path):
    """Build a Model from a TOML case file (paths relative to the file)."""
    from biomech.case import load_case as _load

    return _load(path)


__all__ = [
    "BiomechError", "CaseError", "ConvergenceError", "MaterialError", "MeshError", "UnitError",
    "Mesh", "Model", "read_mesh", "load_case", "__version__",
]
