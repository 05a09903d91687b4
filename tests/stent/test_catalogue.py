"""Device catalogues: the issue's minimal entry, the shipped examples, every error path."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from biomech.errors import CaseError
from biomech.stent import NITINOL_DEFAULTS, get_device, load_catalogue

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples" / "stents"
SHARED = ROOT.parent / "shared" / "data" / "endobeams-stent"

MINIMAL = """
[[device]]
name = "Z28"
type = "z-ring"
diameter = "28 mm"
crowns = 8
strut_length = "10 mm"
strut_width = "0.4 mm"
strut_thickness = "0.3 mm"
rings = 1
material = { model = "linear-elastic", E = "50 GPa", nu = 0.33 }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cat.toml"
    path.write_text(text)
    return path


def test_the_issue_minimal_entry_builds(tmp_path):
    (device,) = load_catalogue(write(tmp_path, MINIMAL))
    assert device.name == "Z28" and device.type == "z-ring"
    assert device.material == {"model": "linear-elastic", "E": 50000.0, "nu": 0.33}
    assert device.params["strut_width"] == 0.4 and device.nominal_diameter_mm == 28.0
    h = math.sqrt(10**2 - (28 * math.sin(math.pi / 16)) ** 2)
    assert device.length_mm == pytest.approx(h, abs=1e-12)
    net = device.build()
    assert len(net.beams) == 16 * 4 and net.name == "Z28"
    net.nodes[:] = 0.0  # build() hands out copies
    assert device.build().radius().max() == pytest.approx(14.0)


def test_nitinol_defaults_and_overrides(tmp_path):
    text = MINIMAL.replace('{ model = "linear-elastic", E = "50 GPa", nu = 0.33 }', '"nitinol"')
    (device,) = load_catalogue(write(tmp_path, text))
    assert device.material == NITINOL_DEFAULTS
    text = MINIMAL.replace('{ model = "linear-elastic", E = "50 GPa", nu = 0.33 }',
                           '{ model = "nitinol", E_A = "60 GPa", sigma_AS_s = "500 MPa" }')
    (device,) = load_catalogue(write(tmp_path, text))
    assert device.material["E_A"] == 60000.0 and device.material["sigma_AS_s"] == 500.0
    assert device.material["sigma_SA_f"] == NITINOL_DEFAULTS["sigma_SA_f"]


def test_every_type_loads(tmp_path):
    text = """
[[device]]
name = "B"
type = "braided"
diameter = "10 mm"
length = "15 mm"
wires = 24
angle = "60 deg"
wire_diameter = "0.1 mm"
crossings = "shared"
material = "nitinol"

[[device]]
name = "D"
type = "diamond"
diameter = "20 mm"
cells_around = 8
cell_length = "6 mm"
strut_width = "0.2 mm"
strut_thickness = "0.2 mm"
rings = 3
material = "nitinol"

[[device]]
name = "SG"
type = "stent-graft"
diameter = "26 mm"
crowns = 6
strut_length = "15 mm"
strut_width = "0.4 mm"
strut_thickness = "0.4 mm"
rings = 2
graft_material = { E = "50 MPa", nu = 0.45 }
material = "nitinol"
"""
    devices = {d.name: d for d in load_catalogue(write(tmp_path, text))}
    assert devices["B"].params["angle_deg"] == pytest.approx(60.0)
    assert len(devices["B"].build().ties) == 0
    assert devices["D"].length_mm == pytest.approx(9.0)
    assert devices["SG"].build().graft.material["E"] == 50.0
    assert get_device(list(devices.values()), "SG").type == "stent-graft"
    with pytest.raises(CaseError, match="did you mean 'SG'"):
        get_device(list(devices.values()), "SGG")


def test_example_catalogue_loads_and_builds_every_device():
    devices = load_catalogue(EXAMPLES / "devices.toml")
    assert 3 <= len(devices) <= 4
    for device in devices:
        net = device.build()
        assert net.validate() is net and net.length_mm == pytest.approx(device.length_mm)
        assert 24.0 < device.nominal_diameter_mm < 33.0  # candidates for a ~24 mm neck
    oversizing = sorted(d.nominal_diameter_mm / 24 - 1 for d in devices if d.type != "z-ring")
    assert oversizing[0] >= 0.10 and oversizing[-1] >= 0.30


def test_endobeams_example_catalogue():
    if not SHARED.is_dir():
        pytest.skip(f"shared EndoBeams data not present at {SHARED}")
    device, ring = load_catalogue(EXAMPLES / "endobeams.toml")
    assert ring.name == "Z4.5" and ring.nominal_diameter_mm == 4.5
    net = device.build()
    assert (len(net.nodes), len(net.beams), len(net.ties)) == (3408, 3360, 1704)
    assert net.width[0] == 0.028 and net.material["E"] == 225000.0


# ----------------------------------------------------------------------------- errors

ERRORS = [
    # (replace this, with this, words the message must contain)
    ('type = "z-ring"', 'type = "zring"', ["'type'", "'z-ring'"]),
    ('rings = 1', 'strut_lenght = "10 mm"', ["'strut_lenght'", "'strut_length'"]),
    ('crowns = 8\n', '', ["'crowns'", "missing", "crowns = 8"]),
    ('strut_width = "0.4 mm"', 'strut_width = "-0.4 mm"', ["'strut_width'", "positive"]),
    ('diameter = "28 mm"', 'diameter = "0 mm"', ["'diameter'", "positive"]),
    ('strut_length = "10 mm"', 'strut_length = "5 mm"', ["strut_length", "too short"]),
    ('diameter = "28 mm"', 'diameter = 28', ["'diameter'", "no unit", '"28 mm"']),
    ('diameter = "28 mm"', 'diameter = "28 MPa"', ["'diameter'", "length"]),
    ('E = "50 GPa"', 'E = 50000', ["'material.E'", "no unit", "MPa"]),
    ('model = "linear-elastic"', 'model = "nitinoll"', ["'material'", "'nitinol'"]),
    ('nu = 0.33', 'nu = 0.33, Poisson = 0.3', ["'material.Poisson'"]),
    ('crowns = 8', 'crowns = 8.0', ["'crowns'", "whole number"]),
    ('crowns = 8', 'crowns = 1', ["'crowns'", ">= 2"]),
    ('name = "Z28"\n', '', ["'name'", "missing"]),
    ('material = { model = "linear-elastic", E = "50 GPa", nu = 0.33 }',
     'material = "steel"', ["'material'", "unknown material model"]),
    ('material = { model = "linear-elastic", E = "50 GPa", nu = 0.33 }',
     'material = "linear-elastic"', ["'material'", "E = "]),
    ('nu = 0.33', 'nu = 0.7', ["'material'", "nu"]),
    ('rings = 1', 'rings = 2\nring_gap = "0 mm"', ["'ring_gap'", "positive"]),
    ('rings = 1', 'rings = 2\nconnectors = 9', ["connectors", "at most"]),
]


@pytest.mark.parametrize("old, new, words", ERRORS, ids=[e[1][:24] for e in ERRORS])
def test_catalogue_errors_name_file_device_and_key(tmp_path, old, new, words):
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    with pytest.raises(CaseError) as info:
        load_catalogue(path)
    message = str(info.value)
    assert "cat.toml" in message and "device #1" in message
    for word in words:
        assert word in message, message


def test_duplicate_names(tmp_path):
    with pytest.raises(CaseError, match=r"device #2, key 'name': duplicate device name 'Z28'"):
        load_catalogue(write(tmp_path, MINIMAL + MINIMAL))


def test_file_devices_need_existing_files_and_a_wire_diameter(tmp_path):
    entry = """
[[device]]
name = "F"
type = "file"
positions = "nowhere.txt"
wire_diameter = "0.1 mm"
material = "nitinol"
"""
    with pytest.raises(CaseError, match=r"'positions'.*not found.*relative to the catalogue"):
        load_catalogue(write(tmp_path, entry))
    (tmp_path / "p.txt").write_text("1 0 0\n0 1 0\n-1 0 0\n0 -1 0\n")
    (tmp_path / "c.txt").write_text("1 2\n2 3\n3 4\n4 1\n")
    entry = entry.replace("nowhere.txt", "p.txt") + 'connectivity = "c.txt"\n'
    (device,) = load_catalogue(write(tmp_path, entry))
    assert device.nominal_diameter_mm == pytest.approx(2.0)
    with pytest.raises(CaseError, match=r"'wire_diameter'.*missing"):
        load_catalogue(write(tmp_path, entry.replace('wire_diameter = "0.1 mm"\n', "")))


def test_braided_angle_needs_a_unit_and_a_range(tmp_path):
    entry = """
[[device]]
name = "B"
type = "braided"
diameter = "10 mm"
length = "15 mm"
wires = 24
angle = 60
wire_diameter = "0.1 mm"
material = "nitinol"
"""
    with pytest.raises(CaseError, match=r"'angle'.*no unit"):
        load_catalogue(write(tmp_path, entry))
    with pytest.raises(CaseError, match=r"'angle'.*between 0 and 90"):
        load_catalogue(write(tmp_path, entry.replace("angle = 60", 'angle = "95 deg"')))


def test_whole_file_errors(tmp_path):
    with pytest.raises(CaseError, match="no devices"):
        load_catalogue(write(tmp_path, "# empty\n"))
    with pytest.raises(CaseError, match="not valid TOML"):
        load_catalogue(write(tmp_path, "[[device]\n"))
    with pytest.raises(CaseError, match=r"unknown top-level.*'devices'.*did you mean 'device'"):
        load_catalogue(write(tmp_path, MINIMAL.replace("[[device]]", "[[devices]]")))
    with pytest.raises(CaseError, match="cannot read catalogue"):
        load_catalogue(tmp_path / "absent.toml")
