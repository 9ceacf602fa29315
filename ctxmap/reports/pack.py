"""The meeting pack: one self-contained HTML file about one context, for the meeting.

The pack holds the map (an offline folium map in an ``<iframe srcdoc>``, every script
inlined by :func:`ctxmap.maps.export.standalone_html`), the evidence, the assessment, the
plan, the young people's safety work and consent, and the review with an inline SVG
chart. It loads nothing from the network except basemap tiles (a Content-Security-
Policy blocks everything else). Every user string is HTML-escaped.

A pack made *for a partner* shows only what consent allows
(:func:`ctxmap.cases.consent.filter_for_partner`) and never a home's point or address: a home
is shown as the 250 m grid cell it lies in, with no incident points or distances around
it (they would give the point away), only counts.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import geopandas as gpd

from ctxmap.analysis.review import CAVEATS, BeforeAfter
from ctxmap.cases.consent import CONSENT_CATEGORIES, LEGAL_BASES, filter_for_partner
from ctxmap.cases.evidence import ContextEvidence
from ctxmap.cases.records import (
    ASSESSMENT_SIDES,
    INFO_GRADES,
    SOURCE_GRADES,
    ContextBundle,
    context_area,
    is_overdue,
)

_CSS: Final = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:60rem;color:#222;line-height:1.4;padding:0 1rem}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}.overdue{background:#fde2e1;font-weight:bold}
.banner{background:#222;color:#fff;padding:.4rem .8rem;font-weight:bold}
.note{color:#555;font-size:.9rem}.red{color:#b00020}.amber{color:#b36b00}.green{color:#1b7a1b}
iframe{width:100%;height:480px;border:1px solid #ccc}
pre{white-space:pre-wrap;font-family:inherit;background:#f8f8f8;padding:.6rem}
@media print{iframe{display:none}}
"""


def esc(value: object) -> str:
    """HTML-escape any value (``None`` becomes an empty string)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def _table(headers: list[str], rows: list[list[object]], row_class: list[str] | None = None) -> (
    str
):
    if not rows:
        return '<p class="note">None recorded.</p>'
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, r in enumerate(rows):
        cls = f' class="{esc(row_class[i])}"' if row_class and row_class[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def review_svg(review: BeforeAfter, *, width: int = 640, height: int = 260) -> str:
    """Draw the review as an inline SVG chart (no scripts).

    Bars: the context's incidents per month; dashed line: what it would have had
    following the rest of the area; a dotted line marks the plan start.
    """
    m = review.monthly
    n = len(m)
    left, right, top, bottom = 40, 10, 20, 50
    pw, ph = width - left - right, height - top - bottom
    expected = [v for v in m["expected_context"].tolist() if math.isfinite(v)]
    ymax = max([1, *m["context"].tolist(), *expected])
    ymax = math.ceil(ymax * 1.1)
    step = pw / max(n, 1)

    def y(v: float) -> float:
        return top + ph - ph * v / ymax

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Incidents per month in the '
             'context, before and after the plan started">',
             f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#333"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#333"/>']
    for t in sorted({0, ymax // 2, ymax}):
        parts.append(f'<text x="{left - 5}" y="{y(t) + 4:.1f}" font-size="11" '
                     f'text-anchor="end">{t}</text>')
    for i, row in enumerate(m.itertuples(index=False)):
        x0 = left + i * step + step * 0.15
        colour = "#7a9cc6" if row.window == "before" else "#2e7d32"
        parts.append(f'<rect x="{x0:.1f}" y="{y(row.context):.1f}" width="{step * 0.7:.1f}" '
                     f'height="{top + ph - y(row.context):.1f}" fill="{colour}">'
                     f"<title>{esc(row.month)}: {int(row.context)}</title></rect>")
        parts.append(f'<text x="{left + (i + 0.5) * step:.1f}" y="{top + ph + 15}" '
                     f'font-size="11" text-anchor="middle">{esc(row.month)}</text>')
    pts = [f"{left + (i + 0.5) * step:.1f},{y(v):.1f}"
           for i, v in enumerate(m["expected_context"].tolist()) if math.isfinite(v)]
    if pts:
        parts.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="#c62828" '
                     'stroke-width="2" stroke-dasharray="5,4"/>')
    xs = left + len(review.months_before) * step
    parts.append(f'<line x1="{xs:.1f}" y1="{top}" x2="{xs:.1f}" y2="{top + ph}" stroke="#000" '
                 f'stroke-dasharray="2,2"/><text x="{xs + 4:.1f}" y="{top + 10}" '
                 f'font-size="11">plan start {esc(review.plan_start_month)}</text>')
    parts.append(f'<text x="{left}" y="{height - 8}" font-size="11">Bars: incidents in the '
                 'context (blue before, green after). Dashed: expected if it followed the rest '
                 'of the area.</text></svg>')
    return "".join(parts)


def _map_page(bundle: ContextBundle, layers: Mapping[str, gpd.GeoDataFrame],
              evidence: ContextEvidence | None, tiles_url: Any, vendor_dir: Path | None) -> str:
    from ctxmap.maps.base import DEFAULT, MapOptions
    from ctxmap.maps.export import standalone_html
    from ctxmap.maps.layers import build_map, context_area_group

    ctx = bundle.context
    view: dict[str, gpd.GeoDataFrame] = {
        k: layers[k] for k in ("youth_centres", "safe_places") if k in layers}
    if evidence is not None and not bundle.location_masked and len(evidence.incidents):
        view["incidents"] = evidence.incidents.drop(columns=["distance_m"], errors="ignore")
    area = ctx.geometry if bundle.location_masked else context_area(ctx.geometry, ctx.radius_m)
    center = None
    if area is not None:
        c = area.centroid
        center = (c.y, c.x)
    extra = []
    if area is not None:
        extra.append(context_area_group(
            area, "Context (home location masked to a 250 m cell)"
            if bundle.location_masked else "Context area"))
    options = MapOptions(tiles_url=DEFAULT if tiles_url is None else tiles_url,
                         center=center, zoom=15 if center else None)
    m = build_map(view, options, extra_groups=extra)
    return standalone_html(m, title=f"Map: {ctx.name}", vendor_dir=vendor_dir)


def build_pack_html(
    bundle: ContextBundle,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    for_partner: str | None = None,
    evidence: ContextEvidence | None = None,
    review: BeforeAfter | None = None,
    today: dt.date | None = None,
    tiles_url: Any = None,
    vendor_dir: Path | None = None,
    include_map: bool = True,
) -> str:
    """Return the meeting pack of a context as one HTML page.

    Parameters
    ----------
    bundle
        The full bundle (:func:`ctxmap.cases.repository.load_bundle`).
    layers
        Layers for the map (``youth_centres``, ``safe_places``); EPSG:4326. Homes are
        never drawn (the context itself is, masked in a partner's pack).
    for_partner
        Make the pack for this partner: consent filter and home masking apply.
    evidence, review
        From :func:`ctxmap.cases.evidence.context_evidence` and
        :func:`ctxmap.analysis.review.before_after` (sections left out when ``None``).
    today
        Date printed and used for overdue actions and consent (default: today).
    tiles_url
        Basemap tiles (``None``: ctxmap's default; ``""``: none).
    vendor_dir
        Where the vendored scripts are (default ``static/vendor/``).
    include_map
        Leave the map out (smaller file; no vendored scripts needed) when ``False``.
    """
    today = today or dt.date.today()
    if for_partner is not None:
        bundle = filter_for_partner(bundle, for_partner, as_of=today)
    ctx = bundle.context
    masked = bundle.location_masked
    out: list[str] = []
    audience = (f"Prepared for: {for_partner} (only what consent allows to be shared with "
                "this partner)" if for_partner else
                "Full record for the lead agency: do not pass on; make a partner pack instead")
    out.append('<p class="banner">OFFICIAL-SENSITIVE: information about children. '
               f"{esc(audience)}</p>")
    out.append(f"<h1>{esc(ctx.name)}</h1>")
    out.append(f'<p class="note">Context {esc(ctx.id)}, version {ctx.version}; pack made '
               f"{esc(today.isoformat())} with ctxmap.</p>")
    out.append(_table(["Field", "Value"], [
        ["Kind", ctx.kind], ["Status", ctx.status], ["Referred on", ctx.referral_date],
        ["Reason for referral", ctx.referral_reason],
        ["Referring agency", ctx.referring_agency], ["Lead agency", ctx.lead_agency],
        ["Lead worker", ctx.lead_worker], ["Plan started", ctx.plan_start or "not yet"],
        ["Young people linked", ", ".join(y.yp_ref for y in bundle.young_people) or "none shown"],
    ]))
    if include_map and ctx.geometry is not None:
        page = _map_page(bundle, layers, evidence, tiles_url, vendor_dir)
        out.append("<h2>Map</h2>")
        if masked:
            out.append('<p class="note">This is a home: its location is shown only as the '
                       "250 m square it lies in.</p>")
        out.append(f'<iframe title="Map of the context" sandbox="allow-scripts" '
                   f'srcdoc="{esc(page)}"></iframe>')
    if evidence is not None:
        out.append(_evidence_html(evidence, masked))
    out.append("<h2>Assessment (context triangle)</h2>")
    out.append('<p class="note">Grades: source reliability A (always reliable) to E (untested); '
               "information 1 (known true) to 5 (suspected false). An association is not a "
               "fact.</p>")
    for side, title in ASSESSMENT_SIDES.items():
        entries = [e for e in bundle.assessment if e.side == side]
        out.append(f"<h3>{esc(title)}</h3>")
        out.append(_table(["Factor", "What", "Source", "Grade", "Young person"], [
            [e.factor, e.text, e.source,
             f"{e.source_grade}{e.info_grade} ({SOURCE_GRADES[e.source_grade].split(' (')[0]}; "
             f"{INFO_GRADES[e.info_grade]})", e.yp_ref or "(collective)"]
            for e in entries]))
    out.append("<h2>Response plan</h2>")
    out.append(_table(
        ["Partner", "Action", "Owner", "Due", "Status", "Notes"],
        [[a.partner, a.what, a.owner, a.due_date, a.status + (" (OVERDUE)" if is_overdue(
            a, today) else ""), a.notes] for a in bundle.actions],
        ["overdue" if is_overdue(a, today) else "" for a in bundle.actions]))
    out.append("<h2>Young people's safety and wellbeing plan</h2>")
    if ctx.safety_plan:
        out.append(f"<pre>{esc(ctx.safety_plan)}</pre>")
    else:
        out.append('<p class="note">Not shown (not written yet, or not shared).</p>')
    out.append("<h2>Safety mapping (young people's ratings)</h2>")
    out.append(_table(["Place", "Rating", "Date", "Comment"], [
        [r.place_label, r.rating.upper(), r.rated_on, r.comment]
        for r in bundle.safety_ratings]))
    out.append("<h2>Consent to share</h2>")
    out.append(_table(["Young person", "Partner", "Information", "Legal basis", "Given",
                       "Withdrawn"], [
        [c.yp_ref, c.partner, CONSENT_CATEGORIES.get(c.category, c.category),
         LEGAL_BASES.get(c.legal_basis, c.legal_basis), c.given_on, c.withdrawn_on or ""]
        for c in bundle.consents]))
    out.append("<h2>Review</h2>")
    if review is not None:
        out.append(review_svg(review))
        out.append(f"<p>{esc(review.statement)}</p>")
        out.append("<ul>" + "".join(f"<li>{esc(c)}</li>" for c in CAVEATS) + "</ul>")
        out.append(f'<p class="note">Counted: {esc(", ".join(review.categories))}. '
                   f"{review.unlocated} incident(s) of these months had no location.</p>")
    out.append(_table(["Date", "Kind", "Note"], [
        [n.noted_on, n.kind + (f" ({n.yp_ref})" if n.yp_ref else ""), n.text]
        for n in bundle.review_notes]))
    if bundle.withheld:
        held = {k: v for k, v in bundle.withheld.items() if v}
        text = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in held.items()) or "nothing"
        out.append(f'<p class="note">Withheld from this pack under consent: {esc(text)}.</p>')
    csp = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
           "img-src data: https: http:; font-src data:; base-uri 'none'; form-action 'none'")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            '<meta name="referrer" content="no-referrer">'
            f"<title>{esc('Meeting pack: ' + ctx.name)}</title><style>{_CSS}</style></head>"
            f"<body>{''.join(out)}</body></html>\n")


def _evidence_html(ev: ContextEvidence, masked: bool) -> str:
    parts = ["<h2>Evidence from the map (computed)</h2>"]
    period = f"{ev.period[0]} to {ev.period[1]}" if ev.period else "no data"
    where = f"within {ev.radius_m:g} m" if ev.shape == "point" else "within the drawn area"
    parts.append(f"<p>{int(ev.by_category.sum())} incident(s) of the selected types {esc(where)}"
                 f", {esc(period)}; {ev.unlocated_in_period} incident(s) in the period had no "
                 "location and cannot be placed.</p>")
    parts.append(_table(["Type", "Incidents"], [[k, int(v)] for k, v in ev.by_category.items()]))
    if ev.hotspot:
        h = ev.hotspot
        flag = "a location of concern" if h["flagged"] else "not flagged"
        parts.append(f"<p>Hotspot test: {esc(flag)}; {h['incidents']} incident(s) against "
                     f"{h['expected']:.1f} expected at the study-area density (rate ratio "
                     f"{h['rate_ratio']:.2f}, p = {h['p_value']:.3g}). "
                     f'<span class="note">{esc(h["method"])}.</span></p>')
    if masked:
        parts.append("<p>Nearest youth centres and safe places: "
                     + esc(", ".join(str(n) for n in ev.nearest["name"].fillna("unnamed")))
                     + ' <span class="note">(distances left out: they would locate the home)'
                     "</span></p>")
    else:
        parts.append(_table(["Place", "Layer", "Type", "Distance (m, straight line)"], [
            [r.name if isinstance(r.name, str) else "unnamed", r.layer, r.category,
             f"{r.distance_m:.0f}"] for r in ev.nearest.itertuples(index=False)]))
    return "".join(parts)


def write_pack(path: str | Path, page: str) -> Path:
    """Write a pack page to ``path`` (UTF-8) and return the path."""
    p = Path(path)
    p.write_text(page, encoding="utf-8")
    return p


def context_review(bundle: ContextBundle, layers: Mapping[str, gpd.GeoDataFrame]) -> (
    BeforeAfter | None
):
    """The before/after review of a context with a plan start, or ``None`` when impossible.

    ``None`` when the context has no plan start or no location, there is no study area,
    or the data has no month on one side of the start.
    """
    from ctxmap.analysis.inputs import study_area
    from ctxmap.analysis.review import before_after
    from ctxmap.errors import InputError

    ctx = bundle.context
    area = context_area(ctx.geometry, ctx.radius_m)
    if ctx.plan_start is None or area is None or "incidents" not in layers:
        return None
    try:
        sa = study_area(layers.get("areas", layers["incidents"].iloc[0:0]),
                        layers["incidents"], buffer_m=1000)[0]
        return before_after(layers["incidents"], area, sa, ctx.plan_start)
    except InputError:
        return None


def make_pack(store: Any, context_id: str, *, for_partner: str | None = None,
              today: dt.date | None = None, tiles_url: Any = None,
              include_map: bool = True) -> str:
    """Build the pack of one stored context (evidence and review computed from the store).

    Raises
    ------
    InputError
        If there is no such context, or ``for_partner`` is not on the partner list.
    """
    from ctxmap.cases.evidence import context_evidence
    from ctxmap.cases.repository import list_partners, load_bundle

    bundle = load_bundle(store, context_id)
    if for_partner is not None:
        from ctxmap.errors import InputError

        partners = list_partners(store)
        if for_partner not in partners:
            raise InputError(f"partner {for_partner!r} is not on the partner list; expected "
                             f"one of: {', '.join(partners)}")
    layers = {k: store.read(k) for k in ("incidents", "youth_centres", "safe_places", "areas")}
    ctx = bundle.context
    evidence = context_evidence(ctx.geometry, layers, radius_m=ctx.radius_m)
    review = context_review(bundle, layers)
    return build_pack_html(bundle, layers, for_partner=for_partner, evidence=evidence,
                           review=review, today=today, tiles_url=tiles_url,
                           include_map=include_map)
