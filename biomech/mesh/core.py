"""The in-memory volume mesh every part of biomech shares (coordinates in mm)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

VOLUME_CELL_TYPES = ("tetra", "tetra10", "hexahedron", "wedge")
FACE_CELL_TYPES = ("triangle", "triangle6", "quad")


@dataclass
class CellBlock:
    """Cells of one meshio type: ``conn`` is (n_cells, nodes_per_cell), VTK/meshio node order."""

    type: str
    conn: np.ndarray
    region: np.ndarray  # (n_cells,) int region tag


@dataclass
class Mesh:
    """A tagged volume mesh in mm.

    ``blocks`` hold volume cells only; ``face_sets`` map a name to face connectivity per
    face cell type (``{"triangle": (n, 3) array, ...}``), oriented with outward normals of
    the volume; ``region_names`` maps a region name to its integer tag; ``cell_data``
    holds extra per-cell arrays (one array per block, first axis = cells of that block).
    """

    points: np.ndarray
    blocks: list[CellBlock]
    region_names: dict[str, int] = field(default_factory=dict)
    face_sets: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    cell_data: dict[str, list[np.ndarray]] = field(default_factory=dict)
    point_data: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = "<memory>"

    def __post_init__(self) -> None:
        self.points = np.ascontiguousarray(self.points, dtype=np.float64)
        for block in self.blocks:
            block.conn = np.ascontiguousarray(block.conn, dtype=np.int64)
            block.region = np.ascontiguousarray(block.region, dtype=np.int64)

    @property
    def n_points(self) -> int:
        return len(self.points)

    @property
    def n_cells(self) -> int:
        return sum(len(b.conn) for b in self.blocks)

    @property
    def bounding_box_diagonal(self) -> float:
        return float(np.linalg.norm(self.points.max(axis=0) - self.points.min(axis=0)))

    def region_tag(self, region: str | int) -> int:
        """Integer tag of a region given by name or tag; KeyError naming the choices."""
        if isinstance(region, (int, np.integer)):
            tags = self.region_tags()
            if int(region) not in tags:
                raise KeyError(
                    f"region {region} is not in mesh {self.source}; tags present: {sorted(tags)}"
                )
            return int(region)
        if region in self.region_names:
            return self.region_names[region]
        raise KeyError(
            f"region {region!r} is not in mesh {self.source}; names present: "
            f"{sorted(self.region_names) or 'none'}, tags present: {sorted(self.region_tags())}"
        )

    def region_tags(self) -> set[int]:
        return {int(t) for b in self.blocks for t in np.unique(b.region)}
