"""`biomech stent …` subcommands: the radial-force bench test of a catalogue device and the
crash-test (deployment) of catalogue devices in a patient's vessel."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from biomech.errors import CaseError
from biomech.units import parse_quantity


def add_parser(sub) -> None:
    """Register ``biomech stent bench`` and ``biomech stent deploy``."""
    stent = sub.add_parser("stent", help="stent / stent-graft virtual tests")
    ssub = stent.add_subparsers(dest="stent_command", required=True)
    b = ssub.add_parser("bench", help="radial-force test: a rigid crimping head closes to --to "
                                      "and reopens (ISO 25539-2 style)")
    b.add_argument("catalogue", help="device catalogue (TOML)")
    b.add_argument("--device", required=True, help="device name in the catalogue")
    b.add_argument("--to", required=True, help='crimp diameter, e.g. "20 mm"')
    b.add_argument("--out", required=True, help="output folder (created)")
    b.add_argument("--steps", type=int, default=20, help="diameter steps each way (adaptive)")
    b.add_argument("--quiet", action="store_true")
    d = ssub.add_parser("deploy", help="crash-test catalogue devices in a patient's vessel: "
                                       "crimp, place at the landing zone, release, systole")
    d.add_argument("input", help="label map, surface or volume mesh (as `biomech mesh`)")
    d.add_argument("--catalogue", required=True, help="device catalogue (TOML)")
    d.add_argument("--device", action="append", help="a device name (repeatable; default all)")
    d.add_argument("--landing", default="neck",
                   help='"neck" (10 mm below the inlet) or a distance from the inlet, "12 mm"')
    d.add_argument("--systolic", default="140 mmHg", help='e.g. "140 mmHg"')
    d.add_argument("--diastolic", default="85 mmHg", help='e.g. "85 mmHg" (imaging pressure)')
    d.add_argument("--sac-pressure", default="0 %",
                   help='an endoleak\'s residual pressure in a stent-graft\'s excluded sac: '
                        '"30 %%" of the lumen pressure or "40 mmHg" at systole (default "0 %%": '
                        'sealed)')
    d.add_argument("--friction", type=float, default=0.2,
                   help="device–wall Coulomb coefficient (default 0.2, an assumption)")
    d.add_argument("--catheter", help='crimped diameter, e.g. "10 mm" (default per device: 0.6 × the '
                        'lumen, less the centreline bend)')
    d.add_argument("--size", default="3 mm", help='wall element size (default "3 mm")')
    d.add_argument("--wall-thickness", default="1.5 mm", help='default "1.5 mm"')
    d.add_argument("--steps", type=int, default=6, help="catheter release steps (adaptive)")
    d.add_argument("--out", required=True, help="output folder (created)")
    d.add_argument("--quiet", action="store_true")


def run(args) -> int:
    """Run a ``biomech stent`` subcommand; 0 on success (CaseError propagates: exit 2)."""
    if args.stent_command == "deploy":
        return _deploy(args)
    return _bench(args)


def _deploy(args) -> int:
    from biomech.aaa.run import AAACase, parse_pressure_mmHg
    from biomech.stent.run import parse_sac_pressure, run_deploy

    if args.steps < 1:
        raise CaseError("--steps must be >= 1")
    # sex and family history feed only the strength model, which a crash-test does not
    # report (wall stress only): fixed placeholders, never shown
    case = AAACase(args.input, parse_pressure_mmHg(args.systolic, "--systolic"),
                   parse_pressure_mmHg(args.diastolic, "--diastolic"), "male", False,
                   size_mm=parse_quantity(args.size, "length", key="--size"),
                   wall_thickness_mm=parse_quantity(args.wall_thickness, "length",
                                                    key="--wall-thickness"),
                   end_sensitivity=False)
    catheter = parse_quantity(args.catheter, "length", key="--catheter") if args.catheter \
        else None
    summary = run_deploy(case, args.catalogue, args.out, landing=args.landing,
                         devices=args.device, friction=args.friction, catheter_mm=catheter,
                         steps=args.steps, quiet=args.quiet,
                         sac_share=parse_sac_pressure(args.sac_pressure, case.systolic_mmHg))
    if not args.quiet:
        print(f"{args.out}/summary.json, report.html")
    return 0 if any(d.get("status") == "ok" for d in summary["devices"]) else 1


def _bench(args) -> int:
    from biomech.stent import get_device, load_catalogue
    from biomech.stent.bench import outer_diameter, radial_force_test

    to = parse_quantity(args.to, "length", key="--to")
    if args.steps < 1:
        raise CaseError(f"--steps {args.steps}: must be at least 1")
    device = get_device(load_catalogue(args.catalogue), args.device)
    net = device.build()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    curve = radial_force_test(net, to, steps=args.steps)
    wall = time.perf_counter() - t0
    curve.write_csv(out / "radial_force.csv")
    _plot(curve, device.name, out / "radial_force.png")
    crimp = [f for f, p in zip(curve.force_N, curve.phase) if p == "crimp"]
    summary = {
        "device": device.name, "type": device.type,
        "nominal_diameter_mm": device.nominal_diameter_mm,
        "outer_diameter_mm": outer_diameter(net), "crimp_diameter_mm": to,
        "max_radial_force_N": max(crimp),
        "max_strut_strain": max(curve.max_strain),
        "dof": net.n_dof + (0 if net.graft is None else 6 * len(net.graft.points)),
        "beams": len(net.beams), "steps": len(curve.force_N),
        "newton_iterations": curve.newton_iterations, "wall_s": round(wall, 2),
        "force": "total radial force on the device (sum over its circumference), N",
        "head": "rigid, frictionless; diameters of its inner surface",
    }
    if net.graft is not None:
        summary["graft"] = ("fabric modelled: tension-field membrane (carries no compression), "
                            "stabilised and settled at every step")
        summary["quasi_static_error_N"] = max(curve.stabilisation_N)
    _atomic_write(out / "summary.json", json.dumps(summary, indent=2))
    if not args.quiet:
        print(f"{device.name}: max radial force {summary['max_radial_force_N']:.3f} N at "
              f"{to:g} mm; {out}/radial_force.csv, radial_force.png ({wall:.1f} s)")
    return 0


def _plot(curve, name: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for phase, style in (("crimp", "-o"), ("release", "-s")):
        d = [x for x, p in zip(curve.diameter_mm, curve.phase) if p == phase]
        f = [x for x, p in zip(curve.force_N, curve.phase) if p == phase]
        ax.plot(d, f, style, ms=3, label=phase)
    ax.set_xlabel("diameter (mm)")
    ax.set_ylabel("total radial force (N)")
    ax.set_title(f"{name}: radial-force test")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)


def _atomic_write(path: Path, text: str) -> None:
    from biomech.results import _atomic_text

    _atomic_text(path, text)
