"""Acceptance of each deployed device against published sizing rules and material limits,
a ranked comparison with a reason for every rank, and the recommendation (or the statement
that no candidate is acceptable). Figures as in ``biomech.stent.crashtest``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

REF4 = "../shared/reference §4 (Zenith trial; seal length in the neck)"
CRITERIA = [
    {"name": "oversizing (nominal / landing lumen diameter − 1)", "threshold": "10–30 %; "
     "10–20 % standard", "source": REF4 + ": > 30 % raised 12-month migration 0.9 → 14 %"},
    {"name": "proximal seal length", "threshold": "≥ 10 mm (≥ 15 mm preferred)", "source": REF4},
    {"name": "apposition (strut length within 0.5 mm of the lumen)", "threshold": "≥ 90 % "
     "(caution below)", "source": "assumption: gaps feed type I endoleaks"},
    {"name": "migration margin μ Σλ / (p_sys · A), covered devices", "threshold": "≥ 1",
     "source": "friction capacity vs the displacement force of pressure on a covered "
     "device's proximal section; no hooks or barbs modelled; an uncovered stent has no "
     "pressure difference across it (margin reported, not judged)"},
    {"name": "peak strut strain, deployed and crimped in the catheter (nitinol)",
     "threshold": "≤ 6 %", "source":
     "assumption: recoverable superelastic strain of nitinol (Pelton et al. 2008, ~6–8 %)"},
    {"name": "alternating strut strain, diastole ↔ systole (nitinol)", "threshold": "≤ 0.4 %",
     "source": "Pelton et al. 2008 (J Mech Behav Biomed Mater 1:153): 10⁷-cycle fatigue "
     "limit of nitinol diamond specimens, ~0.4 % strain amplitude"},
]


def assess(fig: Mapping[str, Any], material: str) -> tuple[bool, list[str], list[str]]:
    """(acceptable, rejections, cautions) of one device's figures."""
    no, caution = [], []
    ov = fig["oversizing_pct"]
    if ov < 10.0:
        no.append(f"oversizing {ov:.2f} % < 10 %: no durable radial seal")
    elif ov > 30.0:
        no.append(f"oversizing {ov:.1f} % > 30 %: migration risk (Zenith: 0.9 → 14 %)")
    elif ov > 20.0:
        caution.append(f"oversizing {ov:.0f} % above the standard 10–20 %")
    seal = fig["seal_length_mm"]
    if seal < 10.0:
        no.append(f"seal length {seal:.1f} mm < 10 mm")
    elif seal < 15.0:
        caution.append(f"seal length {seal:.1f} mm below the preferred 15 mm")
    if not fig.get("released", True):
        caution.append("the pusher could not let go in the solve (no equilibrium on the "
                       "wall alone was found): figures with the device still held")
    if fig.get("fabric_note"):
        caution.append(fig["fabric_note"])
    if fig["apposition_pct"] < 90.0:
        caution.append(f"apposition {fig['apposition_pct']:.0f} % < 90 % "
                       f"(max gap {fig['max_gap_mm']:.1f} mm)")
    if not fig.get("covered", True) and fig.get("beyond_neck_mm", 0.0) > 0.0:
        caution.append(f"extends {fig['beyond_neck_mm']:.1f} mm beyond the neck into the "
                       f"aneurysm (which begins {fig['neck_end_mm']:.0f} mm from the inlet): "
                       "its struts there are not apposed (intended only for a flow diverter)")
    if fig.get("covered", True) and fig["migration_margin"] < 1.0:
        no.append(f"migration margin {fig['migration_margin']:.2f} < 1: friction "
                  f"{fig['friction_capacity_N']:.1f} N < displacement force "
                  f"{fig['displacement_force_N']:.1f} N")
    if material == "nitinol":
        if fig["peak_strain_pct"] > 6.0:
            no.append(f"peak strut strain {fig['peak_strain_pct']:.1f} % > 6 %")
        if fig.get("crimp_strain_pct", 0.0) > 6.0:
            no.append(f"strut strain crimped in the catheter {fig['crimp_strain_pct']:.1f} % "
                      "> 6 %: choose a larger catheter (--catheter) or a device with "
                      "shorter, narrower struts")
        if fig["alternating_strain_pct"] > 0.4:
            no.append(f"alternating strain {fig['alternating_strain_pct']:.2f} % > 0.4 % "
                      "(fatigue)")
    else:
        caution.append(f"{material}: no strain limit checked (no yield or fatigue data given)")
    return not no, no, caution


def rank(devices: Sequence[dict[str, Any]]) -> tuple[list[str], str]:
    """Set ``rank``/``rank_reason`` on each solved device dict (in place); return the ranking
    (names, best first) and the recommendation text."""
    solved = [d for d in devices if d.get("status") == "ok"]
    key = lambda d: (not d["acceptable"], len(d["cautions"]), -d["seal_length_mm"],
                     abs(d["oversizing_pct"] - 15.0))
    order = sorted(solved, key=key)
    for k, d in enumerate(order, start=1):
        d["rank"] = k
        d["rank_reason"] = _reason(d, k, order)
    for d in devices:
        d.setdefault("rank", None)
        d.setdefault("rank_reason", d.get("error") or "")
    ok = [d for d in order if d["acceptable"]]
    if ok:
        best = ok[0]
        rec = (f"{best['name']}: oversizing {best['oversizing_pct']:.0f} %, seal "
               f"{best['seal_length_mm']:.0f} mm, apposition {best['apposition_pct']:.0f} %, "
               f"migration margin {best['migration_margin']:.1f}")
        if best["cautions"]:
            rec += " (cautions: " + "; ".join(best["cautions"]) + ")"
    else:
        why = "; ".join(f"{d['name']}: {_first_reason(d)}" for d in devices)
        rec = f"No candidate is acceptable — {why}"
    return [d["name"] for d in order], rec


def _first_reason(d: Mapping[str, Any]) -> str:
    """A device's first rejection, or its error without the device's name it may start with."""
    if d.get("reasons"):
        return d["reasons"][0]
    error = str(d.get("error"))
    return error.removeprefix(f"{d['name']}: ")


def _reason(d: Mapping[str, Any], k: int, order: Sequence[Mapping[str, Any]]) -> str:
    if not d["acceptable"]:
        return "not acceptable: " + "; ".join(d["reasons"])
    text = "acceptable"
    text += f", {len(d['cautions'])} caution(s)" if d["cautions"] else ", no cautions"
    text += f"; seal {d['seal_length_mm']:.1f} mm, oversizing {d['oversizing_pct']:.0f} %"
    if k > 1 and order[k - 2]["acceptable"]:
        text += f"; behind {order[k - 2]['name']} (fewer cautions or longer seal)"
    return text


__all__ = ["CRITERIA", "assess", "rank"]
