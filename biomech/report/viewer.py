"""An interactive WebGL view of scalar fields on a triangle surface, inline in one HTML block.

The block holds the mesh as base64 little-endian arrays (Float32 positions, Uint32 triangle
indices, one Float32 array a field), a 256-colour lookup table a field (the matplotlib
colormap, the same as the static renders) and a small WebGL 1 viewer: drag to rotate,
shift- or right-drag to pan, wheel to zoom, double-click to reset, a selector between fields,
a colour bar with min/max and units. Normals are computed in the browser. Without WebGL the
block shows a message instead and the rest of the page is unaffected.

Status for headless checks: ``<html data-viewer="ok | no-webgl | error">`` (an error
wins), each block's ``data-status`` and, when drawn, ``data-canvas-rect`` (left, top, width,
height in CSS pixels of the page); script errors also go to ``data-js-errors``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from biomech.report import formatting as fmt
from biomech.report.html import Html, esc

__all__ = ["MAX_TRIANGLES", "VIEWER_JS", "Field", "Marker", "surface_arrays", "viewer_block"]

MAX_TRIANGLES = 60_000  # above this the surface is decimated (≈ 2 MB of base64 at 60k)


@dataclass(frozen=True)
class Field:
    """A point-data array to show: its name on the surface, a label, the unit, a colormap."""

    array: str
    label: str
    unit: str = ""
    cmap: str = "viridis"


@dataclass(frozen=True)
class Marker:
    """A labelled point drawn on top of the surface (e.g. the PWS location); colour "#rrggbb"."""

    label: str
    xyz: tuple[float, float, float]
    color: str = "#e6194b"


def _b64(a: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def _point_surface(surface, fields: Sequence[Field]):
    """A triangulated PolyData carrying every field as point data."""
    import pyvista as pv

    surf = surface if isinstance(surface, pv.PolyData) else surface.extract_surface()
    missing = [f.array for f in fields if f.array not in surf.point_data]
    if missing and all(name in surf.cell_data for name in missing):
        surf = surf.cell_data_to_point_data(pass_cell_data=False)
    missing = [f.array for f in fields if f.array not in surf.point_data]
    if missing:
        raise ValueError(f"surface has no point data {missing} (has {list(surf.point_data)})")
    return surf.triangulate()


def surface_arrays(
    surface, fields: Sequence[Field], max_triangles: int = MAX_TRIANGLES
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], list[tuple[float, float]], int]:
    """(points (n,3), triangles (m,3), field values, field ranges, original triangle count).

    Ranges are taken before decimation, so that the colour bar spans the full field even if
    decimation (vtkDecimatePro, which keeps a subset of the points and their values) drops
    the peak vertex. Non-finite values are shown at the range minimum.
    """
    surf = _point_surface(surface, fields)
    n_original = np.asarray(surf.faces).size // 4  # triangulated: [3, i, j, k] per face
    ranges = []
    for f in fields:
        v = np.asarray(surf.point_data[f.array], dtype=float).ravel()
        finite = v[np.isfinite(v)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        ranges.append((lo, hi if hi > lo else lo + max(abs(lo), 1.0) * 1e-6))
    if n_original > max_triangles:
        surf = surf.decimate_pro(1.0 - max_triangles / n_original).triangulate()
    tris = np.asarray(surf.faces).reshape(-1, 4)[:, 1:]
    values = []
    for f, (lo, _) in zip(fields, ranges):
        v = np.asarray(surf.point_data[f.array], dtype=float).ravel()
        values.append(np.where(np.isfinite(v), v, lo))
    return np.asarray(surf.points, dtype=float), tris.astype(np.int64), values, ranges, n_original


def _lut(cmap: str) -> np.ndarray:
    import matplotlib

    return np.round(matplotlib.colormaps[cmap](np.linspace(0.0, 1.0, 256))[:, :3] * 255.0)


def _gradient_css(lut: np.ndarray) -> str:
    stops = ", ".join(
        f"rgb({r:.0f},{g:.0f},{b:.0f}) {100 * i / 16:.1f}%"
        for i, (r, g, b) in enumerate(lut[::16][:16].tolist() + [lut[-1].tolist()])
    )
    return f"linear-gradient(to right, {stops})"


def _rgb(color: str) -> list[float]:
    c = color.lstrip("#")
    return [int(c[i : i + 2], 16) / 255.0 for i in (0, 2, 4)]


def viewer_block(
    surface,
    fields: Sequence[Field],
    markers: Sequence[Marker] = (),
    element_id: str = "viewer3d",
    max_triangles: int = MAX_TRIANGLES,
    caption: str = "",
) -> Html:
    """The viewer as one HTML block (markup, data and script), decimated above max_triangles."""
    if not fields:
        raise ValueError("viewer_block needs at least one field")
    points, tris, values, ranges, n_original = surface_arrays(surface, fields, max_triangles)
    luts = [_lut(f.cmap) for f in fields]
    payload = {
        "positions": _b64(points, "<f4"),
        "indices": _b64(tris, "<u4"),
        "fields": [
            {"values": _b64(v, "<f4"), "min": lo, "max": hi, "lut": _b64(lut, "u1")}
            for v, (lo, hi), lut in zip(values, ranges, luts)
        ],
        "markers": [{"xyz": [float(x) for x in m.xyz], "rgb": _rgb(m.color)} for m in markers],
    }
    data = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
    options = "".join(
        f'<option value="{i}">{esc(f.label)}{esc(f" ({f.unit})" if f.unit else "")}</option>'
        for i, f in enumerate(fields)
    )
    bars = "".join(
        f'<div class="cbar" data-field="{i}"{"" if i == 0 else " hidden"}>'
        f'<div class="cbar-title">{esc(f.label)}{esc(f" [{f.unit}]" if f.unit else "")}</div>'
        f'<div class="cbar-grad" style="background:{_gradient_css(lut)}"></div>'
        f'<div class="cbar-ticks"><span>{esc(fmt.number(lo))}</span>'
        f"<span>{esc(fmt.number(0.5 * (lo + hi)))}</span><span>{esc(fmt.number(hi))}</span></div></div>"
        for i, (f, (lo, hi), lut) in enumerate(zip(fields, ranges, luts))
    )
    legend = "".join(
        f'<span class="mk"><span class="dot" style="background:{esc(m.color)}"></span>'
        f"{esc(m.label)}</span>"
        for m in markers
    )
    if markers:
        legend += '<span class="mk">(pale: behind the wall)</span>'
    shown = len(tris)
    note = f"{shown:,} triangles".replace(",", "\u202f")
    if shown < n_original:
        note += f" (decimated from {n_original:,} for display; colour range from the full surface)"
        note = note.replace(",", "\u202f")
    cap = f"{caption} " if caption else ""
    eid = esc(element_id)
    return Html(
        f'<div class="viewer" id="{eid}" data-status="loading">'
        f"<style>{VIEWER_CSS}</style>"
        f'<div class="viewer-ui noprint"><label>Field <select class="field">{options}</select></label>'
        '<button type="button" class="reset">Reset view</button>'
        '<span class="hint">drag: rotate · shift/right-drag: pan · wheel: zoom</span></div>'
        '<canvas class="gl"></canvas><div class="viewer-msg" hidden></div>'
        f'<div class="viewer-foot">{bars}<div class="legend">{legend}</div></div>'
        f'<p class="note">{esc(cap + note)}</p>'
        f'<script type="application/json" id="{eid}-data">{data}</script>'
        f"<script>{VIEWER_JS}\n{_BOOT_JS.replace('__ID__', json.dumps(str(element_id)))}</script>"
        "</div>"
    )


VIEWER_CSS = """
.viewer [hidden] { display:none !important; }
.viewer canvas.gl { width:100%; height:460px; display:block; background:#fbfcfd;
  border:1px solid var(--line,#ccd); border-radius:6px; touch-action:none; cursor:grab; }
.viewer-ui { display:flex; gap:14px; align-items:center; margin:0 0 8px; font-size:.9em; }
.viewer-ui .hint { color:#5b6675; font-size:.9em; }
.viewer-msg { padding:18px; background:#fff8e1; border:1px solid #f0d58c; border-radius:6px; }
.viewer-foot { display:flex; justify-content:space-between; align-items:flex-end; gap:16px;
  margin-top:8px; flex-wrap:wrap; }
.cbar { width:320px; font-size:.85em; } .cbar-title { font-weight:600; }
.cbar-grad { height:14px; border:1px solid #99a; -webkit-print-color-adjust:exact;
  print-color-adjust:exact; }
.cbar-ticks { display:flex; justify-content:space-between; font-variant-numeric:tabular-nums; }
.legend .mk { margin-left:14px; font-size:.85em; white-space:nowrap; }
.legend .dot { display:inline-block; width:11px; height:11px; border-radius:50%;
  border:2px solid #fff; box-shadow:0 0 0 1px #555; margin-right:5px; vertical-align:-1px;
  -webkit-print-color-adjust:exact; print-color-adjust:exact; }
"""

_BOOT_JS = r"""
(function () {
  var id = __ID__, root = document.getElementById(id), st;
  try {
    st = window.biomechViewer(root, JSON.parse(document.getElementById(id + '-data').textContent));
  } catch (e) {
    st = 'error';
    if (window.biomechNoteError) window.biomechNoteError('3D viewer: ' + e);
    var m = root.querySelector('.viewer-msg');
    m.textContent = 'The 3D view could not be drawn (' + e + ').';
    m.hidden = false;
  }
  root.setAttribute('data-status', st);
  if (st === 'ok') {  // page coordinates of the drawing, for headless checks of a screenshot
    var c = root.querySelector('canvas.gl').getBoundingClientRect();
    root.setAttribute('data-canvas-rect', [c.left + window.scrollX, c.top + window.scrollY,
      c.width, c.height].map(Math.round).join(','));
  }
  var de = document.documentElement;
  if (de.getAttribute('data-viewer') !== 'error') de.setAttribute('data-viewer', st);
})();
"""

VIEWER_JS = r"""
window.biomechViewer = window.biomechViewer || function (root, data) {
  'use strict';
  var canvas = root.querySelector('canvas.gl'), msg = root.querySelector('.viewer-msg');
  var gl = null;
  try {
    gl = canvas.getContext('webgl', {alpha: false, antialias: true, preserveDrawingBuffer: true}) ||
         canvas.getContext('experimental-webgl', {preserveDrawingBuffer: true});
  } catch (e) { gl = null; }
  if (!gl) {
    canvas.hidden = true;
    root.querySelector('.viewer-ui').hidden = true;
    msg.textContent = 'Interactive 3D view unavailable: this browser has no WebGL. ' +
      'Everything else in the report is unaffected; static images follow where available.';
    msg.hidden = false;
    return 'no-webgl';
  }
  function b64(s, Type) {
    var bin = atob(s), u = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
    return new Type(u.buffer);
  }
  var P = b64(data.positions, Float32Array), I = b64(data.indices, Uint32Array);
  var fields = data.fields.map(function (f) {
    return {v: b64(f.values, Float32Array), lo: f.min, hi: f.max, lut: b64(f.lut, Uint8Array)};
  });
  var nv = P.length / 3, i, j, k;
  // area-weighted vertex normals (lighting is two-sided, so orientation does not matter)
  var N = new Float32Array(P.length);
  for (i = 0; i < I.length; i += 3) {
    var a = 3 * I[i], b = 3 * I[i + 1], c = 3 * I[i + 2];
    var ux = P[b] - P[a], uy = P[b + 1] - P[a + 1], uz = P[b + 2] - P[a + 2];
    var vx = P[c] - P[a], vy = P[c + 1] - P[a + 1], vz = P[c + 2] - P[a + 2];
    var nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    for (k = 0; k < 3; k++) {
      var o = 3 * I[i + k];
      N[o] += nx; N[o + 1] += ny; N[o + 2] += nz;
    }
  }
  for (i = 0; i < N.length; i += 3) {
    var l = Math.hypot(N[i], N[i + 1], N[i + 2]) || 1;
    N[i] /= l; N[i + 1] /= l; N[i + 2] /= l;
  }
  var lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  for (i = 0; i < P.length; i += 3) for (k = 0; k < 3; k++) {
    lo[k] = Math.min(lo[k], P[i + k]); hi[k] = Math.max(hi[k], P[i + k]);
  }
  var ctr = [0, 1, 2].map(function (k) { return nv ? 0.5 * (lo[k] + hi[k]) : 0; });
  var rad = nv ? 0.5 * Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]) || 1 : 1;
  // Uint32 indices need OES_element_index_uint; without it, draw unindexed copies
  var indexed = !!gl.getExtension('OES_element_index_uint');
  function unindex(src, n) {
    var out = new Float32Array(I.length * n);
    for (var t = 0; t < I.length; t++) for (var q = 0; q < n; q++) out[t * n + q] = src[I[t] * n + q];
    return out;
  }
  if (!indexed) {
    P = unindex(P, 3); N = unindex(N, 3);
    fields.forEach(function (f) { f.v = unindex(f.v, 1); });
  }
  function shader(type, src) {
    var s = gl.createShader(type);
    gl.shaderSource(s, src); gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
    return s;
  }
  function program(vs, fs) {
    var p = gl.createProgram();
    gl.attachShader(p, shader(gl.VERTEX_SHADER, vs));
    gl.attachShader(p, shader(gl.FRAGMENT_SHADER, fs));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(p));
    return p;
  }
  var surf = program(
    'attribute vec3 aPos; attribute vec3 aNor; attribute float aVal;' +
    'uniform mat4 uProj; uniform mat4 uView; uniform mat3 uNrm; uniform vec2 uRange;' +
    'varying float vT; varying vec3 vN;' +
    'void main() { gl_Position = uProj * uView * vec4(aPos, 1.0); vN = uNrm * aNor;' +
    '  vT = (aVal - uRange.x) / (uRange.y - uRange.x); }',
    'precision mediump float; uniform sampler2D uLut; varying float vT; varying vec3 vN;' +
    'void main() { float d = abs(normalize(vN).z);' +
    '  vec3 c = texture2D(uLut, vec2(clamp(vT, 0.0, 1.0) * 0.99609375 + 0.001953125, 0.5)).rgb;' +
    '  gl_FragColor = vec4(c * (0.5 + 0.5 * d) + vec3(0.1) * pow(d, 24.0), 1.0); }');
  var mark = program(
    'attribute vec3 aPos; uniform mat4 uProj; uniform mat4 uView; uniform float uSize;' +
    'uniform float uLift;' +
    'void main() { vec4 e = uView * vec4(aPos, 1.0); e.z += uLift;' +
    '  gl_Position = uProj * e; gl_PointSize = uSize; }',
    'precision mediump float; uniform vec3 uColor; uniform float uAlpha;' +
    'void main() { vec2 q = 2.0 * gl_PointCoord - 1.0; float r = dot(q, q);' +
    '  if (r > 1.0) discard; gl_FragColor = vec4(r > 0.5 ? vec3(1.0) : uColor, uAlpha); }');
  function buffer(target, arr) {
    var bf = gl.createBuffer(); gl.bindBuffer(target, bf); gl.bufferData(target, arr, gl.STATIC_DRAW);
    return bf;
  }
  var posBuf = buffer(gl.ARRAY_BUFFER, P), norBuf = buffer(gl.ARRAY_BUFFER, N);
  var valBufs = fields.map(function (f) { return buffer(gl.ARRAY_BUFFER, f.v); });
  var idxBuf = indexed ? buffer(gl.ELEMENT_ARRAY_BUFFER, I) : null;
  var mkBuf = buffer(gl.ARRAY_BUFFER, new Float32Array([].concat.apply([], data.markers.map(
    function (m) { return m.xyz; }))));
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  var luts = fields.map(function (f) {
    var t = gl.createTexture(); gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGB, 256, 1, 0, gl.RGB, gl.UNSIGNED_BYTE, f.lut);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return t;
  });
  function loc(p, names) {
    var out = {};
    names.forEach(function (n) {
      out[n] = n.charAt(0) === 'a' ? gl.getAttribLocation(p, n) : gl.getUniformLocation(p, n);
    });
    return out;
  }
  var S = loc(surf, ['aPos', 'aNor', 'aVal', 'uProj', 'uView', 'uNrm', 'uRange', 'uLut']);
  var M = loc(mark, ['aPos', 'uProj', 'uView', 'uSize', 'uColor', 'uLift', 'uAlpha']);
  // camera: eye = R (x - ctr) / rad + (panX, panY, -dist); R starts as a front view, z up
  var FOV = 30 * Math.PI / 180, R, dist, panX, panY, field = 0;
  function reset() {  // front view, z up, distance fitting the mesh's extent in that view
    R = [1, 0, 0, 0, 0, 1, 0, -1, 0];
    var aspect = (canvas.clientWidth || 1) / (canvas.clientHeight || 1), t = Math.tan(FOV / 2);
    var hx = 0, hy = 0, hz = 0;
    for (var q = 0; q < P.length; q += 3) {  // eye x = x, eye y = z, eye z = -y
      hx = Math.max(hx, Math.abs(P[q] - ctr[0]));
      hy = Math.max(hy, Math.abs(P[q + 2] - ctr[2]));
      hz = Math.max(hz, Math.abs(P[q + 1] - ctr[1]));
    }
    dist = (1.12 * Math.max(hy / t, hx / (t * aspect)) + hz) / rad || 4;
    panX = 0; panY = 0;
  }
  function mul3(A, B) {
    var C = new Array(9);
    for (var r = 0; r < 3; r++) for (var c = 0; c < 3; c++)
      C[3 * r + c] = A[3 * r] * B[c] + A[3 * r + 1] * B[3 + c] + A[3 * r + 2] * B[6 + c];
    return C;
  }
  function orthonormalize(A) {  // Gram-Schmidt on the rows, against drift
    var x = A.slice(0, 3), y = A.slice(3, 6), n = Math.hypot(x[0], x[1], x[2]);
    x = x.map(function (v) { return v / n; });
    var d = x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
    y = y.map(function (v, q) { return v - d * x[q]; }); n = Math.hypot(y[0], y[1], y[2]);
    y = y.map(function (v) { return v / n; });
    return x.concat(y, [x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]]);
  }
  function rotate(ax, ay) {
    var ca = Math.cos(ax), sa = Math.sin(ax), cb = Math.cos(ay), sb = Math.sin(ay);
    var Rx = [1, 0, 0, 0, ca, -sa, 0, sa, ca], Ry = [cb, 0, sb, 0, 1, 0, -sb, 0, cb];
    R = orthonormalize(mul3(Ry, mul3(Rx, R)));
  }
  function viewMatrix() {
    var m = new Float32Array(16);
    for (var r = 0; r < 3; r++) {
      for (var c = 0; c < 3; c++) m[4 * c + r] = R[3 * r + c] / rad;
      m[12 + r] = -(R[3 * r] * ctr[0] + R[3 * r + 1] * ctr[1] + R[3 * r + 2] * ctr[2]) / rad;
    }
    m[12] += panX; m[13] += panY; m[14] -= dist; m[15] = 1;
    return m;
  }
  function normalMatrix() {
    var m = new Float32Array(9);
    for (var r = 0; r < 3; r++) for (var c = 0; c < 3; c++) m[3 * c + r] = R[3 * r + c];
    return m;
  }
  function projection(aspect) {
    var f = 1 / Math.tan(FOV / 2), near = Math.max(0.05 * dist, dist - 1.5), far = dist + 1.5;
    var m = new Float32Array(16);
    m[0] = f / aspect; m[5] = f; m[10] = (far + near) / (near - far); m[11] = -1;
    m[14] = 2 * far * near / (near - far);
    return m;
  }
  function attrib(locn, bf, size) {
    if (locn < 0) return;
    gl.bindBuffer(gl.ARRAY_BUFFER, bf); gl.enableVertexAttribArray(locn);
    gl.vertexAttribPointer(locn, size, gl.FLOAT, false, 0, 0);
  }
  function draw() {
    var dpr = window.devicePixelRatio || 1;
    var w = Math.max(1, Math.round(canvas.clientWidth * dpr));
    var h = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    gl.viewport(0, 0, w, h);
    gl.clearColor(0.984, 0.988, 0.992, 1); gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    var proj = projection(w / h), view = viewMatrix();
    gl.enable(gl.DEPTH_TEST);
    gl.useProgram(surf);
    gl.uniformMatrix4fv(S.uProj, false, proj); gl.uniformMatrix4fv(S.uView, false, view);
    gl.uniformMatrix3fv(S.uNrm, false, normalMatrix());
    gl.uniform2f(S.uRange, fields[field].lo, fields[field].hi);
    gl.activeTexture(gl.TEXTURE0); gl.bindTexture(gl.TEXTURE_2D, luts[field]);
    gl.uniform1i(S.uLut, 0);
    attrib(S.aPos, posBuf, 3); attrib(S.aNor, norBuf, 3); attrib(S.aVal, valBufs[field], 1);
    if (indexed) {
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, idxBuf);
      gl.drawElements(gl.TRIANGLES, I.length, gl.UNSIGNED_INT, 0);
    } else {
      gl.drawArrays(gl.TRIANGLES, 0, P.length / 3);
    }
    [S.aNor, S.aVal].forEach(function (a) { if (a >= 0) gl.disableVertexAttribArray(a); });
    if (data.markers.length) {
      // pale where the wall hides them (no depth test), then solid where visible (depth
      // test, lifted towards the eye by 1 % of the mesh radius; LEQUAL: coincident ones show)
      gl.useProgram(mark);
      gl.uniformMatrix4fv(M.uProj, false, proj); gl.uniformMatrix4fv(M.uView, false, view);
      attrib(M.aPos, mkBuf, 3);
      gl.enable(gl.BLEND); gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
      [[false, 0.35, 0], [true, 1, 0.01]].forEach(function (pass) {
        if (pass[0]) gl.enable(gl.DEPTH_TEST); else gl.disable(gl.DEPTH_TEST);
        gl.depthFunc(gl.LEQUAL);
        gl.uniform1f(M.uAlpha, pass[1]); gl.uniform1f(M.uLift, pass[2]);
        data.markers.forEach(function (m, q) {  // later ones smaller: coincident ones stay visible
          gl.uniform1f(M.uSize, Math.max(6, 18 - 6 * q) * dpr);
          gl.uniform3f(M.uColor, m.rgb[0], m.rgb[1], m.rgb[2]);
          gl.drawArrays(gl.POINTS, q, 1);
        });
      });
      gl.disable(gl.BLEND);
    }
  }
  var pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; draw(); });
  }
  var drag = null;
  canvas.addEventListener('pointerdown', function (e) {
    drag = {x: e.clientX, y: e.clientY, pan: e.shiftKey || e.button === 2};
    if (canvas.setPointerCapture) canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener('pointermove', function (e) {
    if (!drag) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    drag.x = e.clientX; drag.y = e.clientY;
    if (drag.pan) {
      var s = 2 * dist * Math.tan(FOV / 2) / (canvas.clientHeight || 1);
      panX += dx * s; panY -= dy * s;
    } else {
      rotate(dy * 0.01, dx * 0.01);
    }
    redraw();
  });
  function stop() { drag = null; }
  canvas.addEventListener('pointerup', stop);
  canvas.addEventListener('pointercancel', stop);
  canvas.addEventListener('contextmenu', function (e) { e.preventDefault(); });
  canvas.addEventListener('wheel', function (e) {
    e.preventDefault();
    dist = Math.min(60, Math.max(0.3, dist * Math.exp(0.0015 * e.deltaY * (e.deltaMode ? 30 : 1))));
    redraw();
  }, {passive: false});
  canvas.addEventListener('dblclick', function () { reset(); redraw(); });
  root.querySelector('.reset').addEventListener('click', function () { reset(); redraw(); });
  var select = root.querySelector('select.field'), bars = root.querySelectorAll('.cbar');
  select.addEventListener('change', function () {
    field = +select.value;
    for (var q = 0; q < bars.length; q++) bars[q].hidden = +bars[q].getAttribute('data-field') !== field;
    redraw();
  });
  canvas.addEventListener('webglcontextlost', function (e) {
    e.preventDefault();
    msg.textContent = 'The 3D view lost its WebGL context; reload the page to restore it.';
    msg.hidden = false;
  });
  window.addEventListener('resize', redraw);
  reset();
  draw();
  var err = gl.getError();
  if (err !== gl.NO_ERROR) throw new Error('WebGL error ' + err);
  return 'ok';
};
"""
