"""Label maps and level sets on voxel grids, placed in world coordinates.

World coordinates in biomech are **LPS, in mm** (the ITK / DICOM convention): +x points to
the patient's Left, +y to Posterior, +z to Superior. A voxel with integer index ``ijk``
(axis order i, j, k = the array's axes 0, 1, 2) sits at ``origin + direction @ (spacing *
ijk)``; the columns of ``direction`` are the world directions of the i, j, k axes.

* MetaImage (``.mha``/``.mhd``) and NRRD (``.nrrd``/``.nhdr``) are read by small readers in
  this module that honour ``TransformMatrix``/``Offset`` and ``space directions``/``space
  origin`` exactly. An NRRD in a RAS or LAS ``space`` is converted to LPS.
* NIfTI (``.nii``/``.nii.gz``, via nibabel) stores a RAS affine; it is converted to LPS by
  negating its first two rows (and back on writing).
* Surfaces made by other tools may live in another frame. The vmtk aorta in the shared test
  data is one: its ``aorta-surface.vtp`` matches the level set's zero surface in **RAS**
  (x_RAS = -x_LPS, y_RAS = -y_LPS); multiply its points by ``LPS_FROM_RAS`` to use it.
* pyvista/VTK 9.7: ``ImageData.contour()`` with the default method (vtkContourFilter)
  ignores the direction matrix; ``method="flying_edges"`` or ``"marching_cubes"`` honour it.
  Safest: contour in index space and map the points with :meth:`LabelImage.index_to_world`.
"""

from __future__ import annotations

import bz2
import gzip
import os
import re
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from biomech.errors import MeshError

__all__ = [
    "LabelImage",
    "read_image",
    "write_image",
    "select_labels",
    "is_level_set",
    "mask_from_level_set",
    "largest_component",
    "to_pyvista",
    "LPS_FROM_RAS",
]

LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0])  # also RAS_FROM_LPS: the flip is its own inverse
_NIFTI = (".nii", ".nii.gz")
_META = (".mha", ".mhd")
_NRRD = (".nrrd", ".nhdr")
_WRITABLE = (".nii", ".nii.gz", ".mha", ".nrrd")


# --- the image type ----------------------------------------------------------------------


@dataclass(eq=False)
class LabelImage:
    """A 3-D voxel array (labels, or a float level set) with its placement in LPS world mm."""

    data: np.ndarray
    spacing: np.ndarray
    origin: np.ndarray
    direction: np.ndarray
    source: str = "<memory>"

    def __post_init__(self) -> None:
        self.data = np.asarray(self.data)
        self.spacing = np.asarray(self.spacing, dtype=float).reshape(-1)
        self.origin = np.asarray(self.origin, dtype=float).reshape(-1)
        self.direction = np.asarray(self.direction, dtype=float)
        _check_geometry(self)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Voxel counts (nx, ny, nz) along i, j, k."""
        return tuple(int(n) for n in self.data.shape)

    @property
    def affine(self) -> np.ndarray:
        """4x4 map from homogeneous voxel index (i, j, k, 1) to LPS world mm."""
        out = np.eye(4)
        out[:3, :3] = self.direction * self.spacing
        out[:3, 3] = self.origin
        return out

    @property
    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in ml (1 ml = 1000 mm^3)."""
        return float(np.prod(self.spacing) * abs(np.linalg.det(self.direction)) / 1000.0)

    def index_to_world(self, ijk: np.ndarray) -> np.ndarray:
        """(n, 3) voxel indices (may be fractional) -> (n, 3) LPS world points, mm."""
        ijk = np.asarray(ijk, dtype=float)
        return self.origin + (ijk * self.spacing) @ self.direction.T

    def world_to_index(self, xyz: np.ndarray) -> np.ndarray:
        """(n, 3) LPS world points, mm -> (n, 3) fractional voxel indices (round for a voxel)."""
        xyz = np.asarray(xyz, dtype=float)
        return np.linalg.solve(self.direction, (xyz - self.origin).T).T / self.spacing


def _check_geometry(img: LabelImage) -> None:
    """Raise MeshError unless data is 3-D and spacing/origin/direction are usable."""
    src = img.source
    if img.data.ndim != 3:
        raise MeshError(f"image {src} is {img.data.ndim}-D with shape {img.data.shape}; "
                        "biomech needs a single 3-D volume (export one channel/time frame)")
    if img.spacing.shape != (3,) or not np.all(np.isfinite(img.spacing)) \
            or np.any(img.spacing <= 0):
        raise MeshError(f"image {src} has spacing {img.spacing}; need 3 positive mm values")
    if img.origin.shape != (3,) or not np.all(np.isfinite(img.origin)):
        raise MeshError(f"image {src} has origin {img.origin}; need 3 finite mm values")
    d = img.direction
    if d.shape != (3, 3) or not np.all(np.isfinite(d)) or abs(np.linalg.det(d)) < 1e-6:
        raise MeshError(f"image {src} has direction matrix {d.tolist()}; need an invertible "
                        "3x3 matrix whose columns are the world directions of the i, j, k axes")
    if not np.allclose(np.linalg.norm(d, axis=0), 1.0, atol=1e-4):
        raise MeshError(f"image {src}: direction columns must be unit vectors (the voxel size "
                        f"goes into spacing), got column norms {np.linalg.norm(d, axis=0)}")


def _from_affine(data: np.ndarray, affine: np.ndarray, source: str) -> LabelImage:
    """LabelImage from an LPS 4x4 index->world affine (spacing = column norms)."""
    lin = np.asarray(affine, dtype=float)[:3, :3]
    spacing = np.linalg.norm(lin, axis=0)
    if np.any(spacing == 0):
        raise MeshError(f"image {source} has a degenerate affine {affine.tolist()}; "
                        "re-export it with a valid orientation")
    return LabelImage(data, spacing, affine[:3, 3], lin / spacing, source)


# --- reading -----------------------------------------------------------------------------


def read_image(path: str | os.PathLike) -> LabelImage:
    """Read a 3-D label map or level set (NIfTI, MetaImage, NRRD) into LPS world mm."""
    path = Path(path)
    if not path.is_file():
        raise MeshError(f"image file {path} does not exist; check the path "
                        f"(relative paths are taken from {Path.cwd()})")
    kind = _kind(path, _NIFTI + _META + _NRRD)
    reader = {"nifti": _read_nifti, "meta": _read_meta, "nrrd": _read_nrrd}[kind]
    try:
        img = reader(path)
    except MeshError:
        raise
    except (OSError, EOFError, ValueError, KeyError, IndexError, zlib.error) as exc:
        raise MeshError(f"cannot read image {path} ({type(exc).__name__}: {exc}); the file is "
                        "truncated or corrupt - re-export it") from exc
    _check_values(img)
    return img


def _kind(path: Path, allowed: tuple[str, ...]) -> str:
    """File kind ('nifti', 'meta', 'nrrd') from the extension, or MeshError."""
    name = path.name.lower()
    for ext in allowed:
        if name.endswith(ext):
            return "nifti" if ext in _NIFTI else "meta" if ext in _META else "nrrd"
    raise MeshError(f"image {path}: unsupported extension; use one of {', '.join(allowed)}")


def _check_values(img: LabelImage) -> None:
    """Reject images that are empty, non-finite or all zero."""
    data = img.data
    if data.size == 0:
        raise MeshError(f"image {img.source} has no voxels (shape {data.shape}); re-export it")
    if np.issubdtype(data.dtype, np.floating):
        bad = int(np.count_nonzero(~np.isfinite(data)))
        if bad:
            raise MeshError(f"image {img.source} has {bad} NaN/inf voxels; fill them (e.g. with "
                            "0 for a label map) before building a model from it")
    if not np.any(data):
        raise MeshError(f"image {img.source} is all zero - an empty segmentation; export the "
                        "label map that contains the structure")


def _squeeze_to_3d(data: np.ndarray, source: str) -> np.ndarray:
    """Drop trailing singleton axes (e.g. a NIfTI with one time frame); must end up 3-D."""
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise MeshError(f"image {source} has shape {data.shape}, not a 3-D volume; "
                        "export a single 3-D label map or level set")
    return data


def _read_nifti(path: Path) -> LabelImage:
    """NIfTI-1/2 via nibabel; its RAS affine becomes LPS."""
    import nibabel as nib

    try:
        nii = nib.load(str(path))
        data = np.asanyarray(nii.dataobj)
    except nib.filebasedimages.ImageFileError as exc:
        raise MeshError(f"cannot read image {path} as NIfTI ({exc}); re-export it") from exc
    data = _squeeze_to_3d(np.asarray(data), str(path))
    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ nii.affine
    return _from_affine(data, affine, str(path))


# MetaImage element types (MetaIO sizes: MET_LONG is 4 bytes).
_MET_TYPES = {
    "MET_CHAR": "i1", "MET_UCHAR": "u1", "MET_SHORT": "i2", "MET_USHORT": "u2",
    "MET_INT": "i4", "MET_UINT": "u4", "MET_LONG": "i4", "MET_ULONG": "u4",
    "MET_LONG_LONG": "i8", "MET_ULONG_LONG": "u8", "MET_FLOAT": "f4", "MET_DOUBLE": "f8",
}


def _read_meta_header(raw: bytes, path: Path) -> tuple[dict[str, str], int]:
    """Parse 'Key = value' lines up to ElementDataFile; returns (fields, data offset)."""
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end
        line = raw[pos:end].decode("latin-1").strip()
        pos = end + 1
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise MeshError(f"MetaImage {path}: bad header line {line[:60]!r}; expected "
                            "'Key = value' - the file is not a MetaImage or is corrupt")
        fields[key.strip().lower()] = value.strip()
        if key.strip().lower() == "elementdatafile":
            return fields, pos
    raise MeshError(f"MetaImage {path}: no ElementDataFile line in the header; the file is "
                    "truncated or not a MetaImage")


def _floats(fields: dict[str, str], keys: tuple[str, ...], n: int, default, path: Path):
    """First of ``keys`` present as n floats, else ``default``."""
    for key in keys:
        if key in fields:
            vals = np.array(fields[key].split(), dtype=float)
            if vals.size != n:
                raise MeshError(f"MetaImage {path}: {key} has {vals.size} values, need {n}")
            return vals
    return np.array(default, dtype=float)


def _true(value: str | None) -> bool:
    """MetaIO boolean."""
    return str(value).strip().lower() in ("true", "1", "yes")


def _read_meta(path: Path) -> LabelImage:
    """MetaImage .mha (data inside) or .mhd (data in ElementDataFile)."""
    raw = path.read_bytes()
    fields, offset = _read_meta_header(raw, path)
    ndims = int(fields.get("ndims", "0"))
    dims = [int(v) for v in fields.get("dimsize", "").split()]
    if ndims != 3 or len(dims) != 3:
        raise MeshError(f"MetaImage {path} has NDims = {ndims} (DimSize {dims}); "
                        "biomech needs a 3-D volume")
    if int(fields.get("elementnumberofchannels", "1")) != 1:
        raise MeshError(f"MetaImage {path} has several channels per voxel; export one channel")
    etype = fields.get("elementtype", "").upper()
    if etype not in _MET_TYPES:
        raise MeshError(f"MetaImage {path}: ElementType {etype!r} not supported; use one of "
                        f"{', '.join(_MET_TYPES)}")
    big = _true(fields.get("binarydatabyteordermsb", fields.get("elementbyteordermsb")))
    dtype = np.dtype(_MET_TYPES[etype]).newbyteorder(">" if big else "<")
    spacing = _floats(fields, ("elementspacing", "elementsize"), 3, [1, 1, 1], path)
    origin = _floats(fields, ("offset", "origin", "position"), 3, [0, 0, 0], path)
    # TransformMatrix lists the direction column by column (ITK MetaImageIO).
    tm = _floats(fields, ("transformmatrix", "rotation", "orientation", "direction"), 9,
                 np.eye(3).ravel(), path)
    payload = _meta_payload(raw, offset, fields, path)
    data = _decode(payload, dtype, dims, fields, path)
    return LabelImage(data, spacing, origin, tm.reshape(3, 3).T, str(path))


def _meta_payload(raw: bytes, offset: int, fields: dict[str, str], path: Path) -> bytes:
    """The (possibly compressed) voxel bytes of a MetaImage."""
    data_file = fields["elementdatafile"]
    if data_file.upper() == "LOCAL":
        return raw[offset:]
    if data_file.upper().startswith("LIST") or "%" in data_file:
        raise MeshError(f"MetaImage {path}: slice-list data files ({data_file}) are not "
                        "supported; convert to a single .mha")
    target = path.parent / data_file
    if not target.is_file():
        raise MeshError(f"MetaImage {path} points to data file {target}, which does not exist; "
                        "keep the .raw/.zraw next to the .mhd")
    payload = target.read_bytes()
    skip = int(fields.get("headersize", "0"))
    return payload if skip <= 0 else payload[skip:]


def _decode(payload: bytes, dtype: np.dtype, dims: list[int], fields: dict, path) -> np.ndarray:
    """Voxel bytes (raw/zlib/gzip, or ASCII) -> (nx, ny, nz) array in native byte order."""
    count = int(np.prod(dims))
    if not _true(fields.get("binarydata", "true")):
        flat = np.array(payload.decode("latin-1").split(), dtype=dtype.newbyteorder("="))
    else:
        if _true(fields.get("compresseddata")):
            payload = zlib.decompressobj(zlib.MAX_WBITS | 32).decompress(payload)
        need = count * dtype.itemsize
        if len(payload) < need:
            raise MeshError(f"image {path} is truncated: {len(payload)} data bytes, expected "
                            f"{need} for {dims} voxels of {dtype.name}; re-export it")
        if fields.get("headersize") == "-1":  # data at the end of the file
            payload = payload[len(payload) - need:]
        flat = np.frombuffer(payload[:need], dtype=dtype).astype(dtype.newbyteorder("="))
    if flat.size != count:
        raise MeshError(f"image {path} has {flat.size} values, expected {count} for {dims}")
    return flat.reshape(dims, order="F")


# NRRD 'type:' spellings.
_NRRD_TYPES = {
    "i1": ("signed char", "int8", "int8_t"),
    "u1": ("uchar", "unsigned char", "uint8", "uint8_t"),
    "i2": ("short", "short int", "signed short", "signed short int", "int16", "int16_t"),
    "u2": ("ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t"),
    "i4": ("int", "signed int", "int32", "int32_t"),
    "u4": ("uint", "unsigned int", "uint32", "uint32_t"),
    "i8": ("longlong", "long long", "long long int", "signed long long", "signed long long int",
           "int64", "int64_t"),
    "u8": ("ulonglong", "unsigned long long", "unsigned long long int", "uint64", "uint64_t"),
    "f4": ("float",),
    "f8": ("double",),
}
_NRRD_DTYPE = {name: code for code, names in _NRRD_TYPES.items() for name in names}
# world flip taking an NRRD anatomical space to LPS
_NRRD_SPACES = {
    "left-posterior-superior": (1, 1, 1), "lps": (1, 1, 1),
    "right-anterior-superior": (-1, -1, 1), "ras": (-1, -1, 1),
    "left-anterior-superior": (1, -1, 1), "las": (1, -1, 1),
    "scanner-xyz": (1, 1, 1), "3d-right-handed": (1, 1, 1),
}


def _read_nrrd_header(raw: bytes, path: Path) -> tuple[dict[str, str], int]:
    """Parse NRRD 'field: value' lines up to the blank line; returns (fields, data offset)."""
    if not raw.startswith(b"NRRD000"):
        raise MeshError(f"NRRD {path} does not start with the NRRD magic; not an NRRD file")
    fields: dict[str, str] = {}
    pos = raw.find(b"\n") + 1
    while 0 < pos <= len(raw):
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end
        line = raw[pos:end].decode("latin-1").rstrip("\r")
        pos = end + 1
        if not line.strip():
            return fields, pos
        if line.startswith("#") or ":=" in line:
            continue
        key, sep, value = line.partition(": ")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields, len(raw)


def _vectors(text: str) -> list[np.ndarray | None]:
    """NRRD '(a,b,c) (d,e,f) none' -> list of vectors (None for 'none')."""
    out: list[np.ndarray | None] = []
    for tok in re.findall(r"\([^)]*\)|none", text):
        out.append(None if tok == "none" else np.array(tok.strip("()").split(","), dtype=float))
    return out


def _read_nrrd(path: Path) -> LabelImage:
    """NRRD (.nrrd attached, or .nhdr + data file); anatomical spaces converted to LPS."""
    raw = path.read_bytes()
    fields, offset = _read_nrrd_header(raw, path)
    dims = [int(v) for v in fields.get("sizes", "").split()]
    if int(fields.get("dimension", "0")) != 3 or len(dims) != 3:
        raise MeshError(f"NRRD {path} has dimension {fields.get('dimension')} (sizes {dims}); "
                        "biomech needs a 3-D scalar volume")
    code = _NRRD_DTYPE.get(fields.get("type", "").lower())
    if code is None:
        raise MeshError(f"NRRD {path}: type {fields.get('type')!r} not supported")
    big = fields.get("endian", "little").lower() == "big"
    dtype = np.dtype(code).newbyteorder(">" if big else "<")
    spacing, direction, origin = _nrrd_geometry(fields, path)
    payload = _nrrd_payload(raw, offset, fields, path)
    enc = fields.get("encoding", "raw").lower()
    meta = {"binarydata": str(enc not in ("ascii", "text", "txt"))}
    data = _decode(payload, dtype, dims, meta, path)
    return LabelImage(data, spacing, origin, direction, str(path))


def _nrrd_geometry(fields: dict[str, str], path: Path):
    """(spacing, direction, origin) of an NRRD header, converted to LPS."""
    space = fields.get("space", "left-posterior-superior").lower()
    if space not in _NRRD_SPACES:
        raise MeshError(f"NRRD {path}: space {space!r} not supported; use "
                        "left-posterior-superior or right-anterior-superior")
    flip = np.array(_NRRD_SPACES[space], dtype=float)
    if "space directions" in fields:
        vecs = _vectors(fields["space directions"])
        if len(vecs) != 3 or any(v is None or v.size != 3 for v in vecs):
            raise MeshError(f"NRRD {path}: 'space directions' must give 3 spatial vectors")
        lin = np.column_stack(vecs) * flip[:, None]
    else:
        lin = np.diag(np.array(fields.get("spacings", "1 1 1").split(), dtype=float))
    origin = np.zeros(3)
    if "space origin" in fields:
        origin = _vectors(fields["space origin"])[0] * flip
    spacing = np.linalg.norm(lin, axis=0)
    return spacing, lin / spacing, origin


def _nrrd_payload(raw: bytes, offset: int, fields: dict[str, str], path: Path) -> bytes:
    """Decompressed voxel bytes of an NRRD (attached or detached)."""
    data_file = fields.get("data file", fields.get("datafile"))
    if data_file:
        if data_file.upper().startswith("LIST") or " " in data_file:
            raise MeshError(f"NRRD {path}: multi-file data ({data_file}) is not supported")
        target = path.parent / data_file
        if not target.is_file():
            raise MeshError(f"NRRD {path} points to data file {target}, which does not exist")
        payload = target.read_bytes()
    else:
        payload = raw[offset:]
    for _ in range(int(fields.get("line skip", "0"))):
        payload = payload[payload.find(b"\n") + 1:]
    enc = fields.get("encoding", "raw").lower()
    if enc in ("gzip", "gz"):
        payload = gzip.decompress(payload)
    elif enc in ("bzip2", "bz2"):
        payload = bz2.decompress(payload)
    elif enc not in ("raw", "ascii", "text", "txt"):
        raise MeshError(f"NRRD {path}: encoding {enc!r} not supported (raw, gzip, bzip2, ascii)")
    skip = int(fields.get("byte skip", "0"))
    return payload[skip:] if skip > 0 else payload


# --- writing -----------------------------------------------------------------------------


def write_image(img: LabelImage, path: str | os.PathLike) -> None:
    """Write ``img`` atomically as NIfTI (.nii/.nii.gz, RAS affine), .mha or .nrrd (LPS)."""
    path = Path(path)
    kind = _kind(path, _WRITABLE)
    data = _storable(img.data, path)
    if kind == "nifti":
        payload = _nifti_bytes(img, data, gz=path.name.lower().endswith(".gz"))
    elif kind == "meta":
        payload = _meta_bytes(img, data)
    else:
        payload = _nrrd_bytes(img, data)
    _atomic_write(path, payload)


def _storable(data: np.ndarray, path: Path) -> np.ndarray:
    """Data in a type every format stores (bool -> uint8; int64 -> int32 when it fits)."""
    data = np.asarray(data)
    if data.dtype == bool:
        return data.astype(np.uint8)
    if data.dtype.kind in "iu" and data.dtype.itemsize == 8:
        info = np.iinfo(np.int32)
        if data.size and (data.min() < info.min or data.max() > info.max):
            raise MeshError(f"cannot write {path}: labels exceed the int32 range")
        return data.astype(np.int32)
    if data.dtype.kind not in "iuf":
        raise MeshError(f"cannot write {path}: voxel type {data.dtype} is not a number type")
    if data.dtype.kind == "f" and data.dtype.itemsize < 4:
        data = data.astype(np.float32)
    return data.astype(data.dtype.newbyteorder("<"))


def _nifti_bytes(img: LabelImage, data: np.ndarray, gz: bool) -> bytes:
    """NIfTI-1 file bytes with qform and sform = the RAS affine (code 1, scanner)."""
    import nibabel as nib

    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ img.affine
    nii = nib.Nifti1Image(data, ras)
    nii.header.set_xyzt_units("mm")
    nii.set_qform(ras, code=1)
    nii.set_sform(ras, code=1)
    raw = nii.to_bytes()
    return gzip.compress(raw, compresslevel=6, mtime=0) if gz else raw


def _numbers(values) -> str:
    """Space-separated repr of floats (round-trips exactly)."""
    return " ".join(repr(float(v)) for v in np.ravel(values))


def _meta_bytes(img: LabelImage, data: np.ndarray) -> bytes:
    """Compressed single-file MetaImage bytes."""
    met = {v: k for k, v in _MET_TYPES.items() if k not in ("MET_LONG", "MET_ULONG")}
    body = zlib.compress(data.tobytes(order="F"), 6)
    header = "\n".join([
        "ObjectType = Image", "NDims = 3", "BinaryData = True",
        "BinaryDataByteOrderMSB = False", "CompressedData = True",
        f"CompressedDataSize = {len(body)}",
        f"TransformMatrix = {_numbers(img.direction.T)}",  # column by column
        f"Offset = {_numbers(img.origin)}", "CenterOfRotation = 0 0 0",
        f"ElementSpacing = {_numbers(img.spacing)}",
        "DimSize = " + " ".join(str(n) for n in data.shape),
        f"ElementType = {met[data.dtype.str[1:]]}", "ElementDataFile = LOCAL",
    ]) + "\n"
    return header.encode("ascii") + body


def _nrrd_bytes(img: LabelImage, data: np.ndarray) -> bytes:
    """Gzip-encoded attached NRRD bytes in left-posterior-superior space."""
    lin = img.direction * img.spacing
    vecs = " ".join("(" + ",".join(repr(float(v)) for v in lin[:, a]) + ")" for a in range(3))
    names = {code: names[0] for code, names in _NRRD_TYPES.items()}
    header = "\n".join([
        "NRRD0004", f"type: {names[data.dtype.str[1:]]}", "dimension: 3",
        "space: left-posterior-superior", "sizes: " + " ".join(str(n) for n in data.shape),
        f"space directions: {vecs}", "kinds: domain domain domain", "endian: little",
        "encoding: gzip",
        "space origin: (" + ",".join(repr(float(v)) for v in img.origin) + ")",
    ]) + "\n\n"
    return header.encode("ascii") + gzip.compress(data.tobytes(order="F"), 6, mtime=0)


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, payload: bytes) -> None:
    """Write bytes to a temporary file beside ``path`` and rename it into place."""
    if not path.parent.is_dir():
        raise MeshError(f"cannot write {path}: folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; use the usual file mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- labels, level sets, components ------------------------------------------------------


def select_labels(img: LabelImage, labels: dict[str, int | list[int]]) -> dict[str, np.ndarray]:
    """Boolean mask per name, True where the voxel's label is one of the given values."""
    if is_level_set(img):
        raise MeshError(f"image {img.source} is a level set (float with both signs), not a "
                        "label map; use mask_from_level_set")
    data = img.data
    if data.dtype.kind == "f" and not np.all(data == np.round(data)):
        raise MeshError(f"image {img.source} has non-integer values; a label map needs integer "
                        "labels (resample with nearest-neighbour interpolation)")
    present = np.unique(data)
    masks: dict[str, np.ndarray] = {}
    for name, values in labels.items():
        values = np.atleast_1d(np.asarray(values))
        missing = [int(v) for v in values if v not in present]
        if missing:
            raise MeshError(f"label(s) {missing} for {name!r} not found in {img.source}; labels "
                            f"present: {[int(v) for v in present]} - fix the label numbers")
        masks[name] = np.isin(data, values)
    return masks


def is_level_set(img: LabelImage) -> bool:
    """True for float data with both negative and positive values (inside < 0)."""
    data = img.data
    return data.dtype.kind == "f" and bool(np.any(data < 0)) and bool(np.any(data > 0))


def mask_from_level_set(img: LabelImage) -> np.ndarray:
    """Boolean inside mask (value < 0) of a level-set image."""
    if not is_level_set(img):
        raise MeshError(f"image {img.source} is not a level set (float data with both signs, "
                        "inside < 0); use select_labels for a label map")
    return img.data < 0


def largest_component(mask: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Largest 26-connected component of ``mask``: (mask, number of components, dropped voxels)."""
    mask = np.asarray(mask, dtype=bool)
    labelled, n = ndimage.label(mask, structure=np.ones((3, 3, 3), dtype=bool))
    if n <= 1:
        return mask.copy(), int(n), 0
    counts = np.bincount(labelled.ravel())[1:]
    keep = int(np.argmax(counts)) + 1
    return labelled == keep, int(n), int(counts.sum() - counts[keep - 1])


def to_pyvista(img: LabelImage, name: str = "values"):
    """pyvista.ImageData placed in LPS world mm (direction matrix included), data as point data.

    Contour it with ``method="flying_edges"``: the default method drops the direction."""
    import pyvista as pv

    grid = pv.ImageData(dimensions=img.shape, spacing=tuple(img.spacing),
                        origin=tuple(img.origin), direction_matrix=img.direction)
    grid.point_data[name] = img.data.ravel(order="F")
    return grid
