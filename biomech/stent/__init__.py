"""Stents and stent-grafts as beam networks: device geometry, materials and the catalogue.

Units: mm, MPa, N. Device frame: axis +z, the device spans z in [0, length].
"""

from biomech.stent.catalogue import Device, get_device, load_catalogue
from biomech.stent.devices import (
    braid_crossing_spacing,
    braided,
    diamond,
    from_files,
    stent_graft,
    z_ring,
    z_ring_height,
)
from biomech.stent.files import ENDOBEAMS_WIRE_DIAMETER_MM, fit_cylinder
from biomech.stent.materials import (
    GRAFT_MATERIALS,
    NITINOL_DEFAULTS,
    check_material,
    linear_elastic,
    nitinol,
)
from biomech.stent.network import CIRCLE, RECTANGLE, BeamNetwork, GraftFabric, radial_orientation

__all__ = [
    "CIRCLE",
    "ENDOBEAMS_WIRE_DIAMETER_MM",
    "GRAFT_MATERIALS",
    "NITINOL_DEFAULTS",
    "RECTANGLE",
    "BeamNetwork",
    "Device",
    "GraftFabric",
    "braid_crossing_spacing",
    "braided",
    "check_material",
    "diamond",
    "fit_cylinder",
    "from_files",
    "get_device",
    "linear_elastic",
    "load_catalogue",
    "nitinol",
    "radial_orientation",
    "stent_graft",
    "z_ring",
    "z_ring_height",
]
