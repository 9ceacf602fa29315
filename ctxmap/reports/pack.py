"""The meeting pack: one self-contained HTML file about one context, for the meeting.

The pack holds the map (an offline folium map in an ``<iframe srcdoc>``, every script
inlined by :func:`ctxmap.maps.export.standalone_html`), the evidence, the assessment, the
plan, the young people's safety work and consent, and the review with an inline SVG
chart, rendered from ``templates/pack.html.j2`` with autoescape on. It loads nothing from
the network except basemap tiles (a Content-Security-Policy blocks everything else).
Every user string is escaped (the templates' ``esc`` filter).

A pack made *for a partner* shows only what consent allows
(:func:`ctxmap.cases.consent.filter_for_partner`) and never a home's point or address: a home
is shown as the grid square it lies in (250 m, or ``CTXMAP_MASK_CELL_M``). Its figures
are a shared output, recomputed from the partner's view through disclosure control
(:mod:`ctxmap.reports.partner`): ranges over the square, small counts hidden, places
listed alphabetically without distances, no incident points on the map.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.review import CAVEATS, BeforeAfter
from ctxmap.analysis.statistics import format_p
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
from ctxmap.privacy.disclosure import check_cell_m, check_threshold
from ctxmap.privacy.masks import DEFAULT_CELL_M, DEFAULT_THRESHOLD
from ctxmap.reports.partner import outline_of, partner_evidence, partner_review
from ctxmap.reports.templating import render, trusted
from ctxmap.settings import load as load_settings
from ctxmap.store.marks import StoredStudyArea, read_study_area
from ctxmap.text import clean_text


@dataclass(frozen=True)
class PackOptions:
    """How a pack is made (every field has a default).

    Attributes
    ----------
    for_partner
        Make the pack for this partner: consent filter and home masking apply.
    today
        Date printed and used for overdue actions and consent (default: today).
    tiles_url
        Basemap tiles (``None``: ctxmap's default; ``""``: none).
    vendor_dir
        Where the vendored scripts are (default ``static/vendor/``).
    include_map
        Leave the map out (smaller file; no vendored scripts needed) when ``False``.
    threshold
        Small-count threshold of a partner's pack (at least 3; see
        :mod:`ctxmap.privacy.disclosure`).
    cell_m
        Side of the square a home is shown as in a partner's pack (at least 100 m).
    study_area
        The store's study area, outlined on the map with a legend line naming it (a
        district's outline is public: a partner's pack shows it too); ``None``: none.
    """

    for_partner: str | None = None
    today: dt.date | None = None
    tiles_url: Any = None
    vendor_dir: Path | None = None
    include_map: bool = True
    threshold: int = DEFAULT_THRESHOLD
    cell_m: float = DEFAULT_CELL_M
    study_area: StoredStudyArea | None = None


def review_svg(review: BeforeAfter, *, width: int = 640, height: int = 260) -> str:
    """Draw the review as an inline SVG chart (no scripts).

    Bars: the context's incidents per month; dashed line: what it would have had
    following the rest of the area; a dotted line marks the plan start.
    """
    m = review.monthly
    left, right, top, bottom = 40, 10, 20, 50
    pw, ph = width - left - right, height - top - bottom
    expected = [v for v in m["expected_context"].tolist() if math.isfinite(v)]
    ymax = math.ceil(max([1, *m["context"].tolist(), *expected]) * 1.1)
    step = pw / max(len(m), 1)

    def y(v: float) -> float:
        return top + ph - ph * v / ymax

    bars = [
        {"x": f"{left + i * step + step * 0.15:.1f}", "y": f"{y(row.context):.1f}",
         "width": f"{step * 0.7:.1f}", "height": f"{top + ph - y(row.context):.1f}",
         "colour": "#7a9cc6" if row.window == "before" else "#2e7d32",
         "month": row.month, "count": int(row.context),
         "label_x": f"{left + (i + 0.5) * step:.1f}"}
        for i, row in enumerate(m.itertuples(index=False))
    ]
    points = [f"{left + (i + 0.5) * step:.1f},{y(v):.1f}"
              for i, v in enumerate(m["expected_context"].tolist()) if math.isfinite(v)]
    start_x = left + len(review.months_before) * step
    return render(
        "review.svg.j2", width=width, height=height, left=left, right=left + pw, top=top,
        base=top + ph, bars=bars, expected_points=" ".join(points),
        ticks=[{"value": t, "y": f"{y(t) + 4:.1f}"} for t in sorted({0, ymax // 2, ymax})],
        start_x=f"{start_x:.1f}", start_label_x=f"{start_x + 4:.1f}",
        plan_start=review.plan_start_month,
    )


def _map_page(bundle: ContextBundle, layers: Mapping[str, gpd.GeoDataFrame],
              evidence: ContextEvidence | None, options: PackOptions) -> str:
    from ctxmap.maps.base import DEFAULT, MapOptions
    from ctxmap.maps.export import standalone_html
    from ctxmap.maps.layers import build_map, context_area_group

    ctx = bundle.context
    view: dict[str, gpd.GeoDataFrame] = {
        k: layers[k] for k in ("youth_centres", "safe_places") if k in layers}
    # a partner's pack draws no incident points: they could be counted exactly
    if evidence is not None and bundle.for_partner is None and len(evidence.incidents):
        view["incidents"] = evidence.incidents.drop(columns=["distance_m"], errors="ignore")
    area = ctx.geometry if bundle.location_masked else context_area(ctx.geometry, ctx.radius_m)
    center = None
    if area is not None:
        c = area.centroid
        center = (c.y, c.x)
    extra = []
    if area is not None:
        extra.append(context_area_group(
            area, f"Context (home location masked to a {options.cell_m:g} m square)"
            if bundle.location_masked else "Context area"))
    map_options = MapOptions(tiles_url=DEFAULT if options.tiles_url is None
                             else options.tiles_url, center=center, zoom=15 if center else None,
                             study_area=options.study_area)
    m = build_map(view, map_options, extra_groups=extra)
    return standalone_html(m, title=f"Map: {ctx.name}", vendor_dir=options.vendor_dir)


def build_pack_html(
    bundle: ContextBundle,
    layers: Mapping[str, gpd.GeoDataFrame],
    options: PackOptions | None = None,
    *,
    evidence: ContextEvidence | None = None,
    review: BeforeAfter | None = None,
) -> str:
    """Return the meeting pack of a context as one HTML page (from ``pack.html.j2``).

    Parameters
    ----------
    bundle
        The full bundle (:func:`ctxmap.cases.repository.load_bundle`).
    layers
        Layers for the map (``youth_centres``, ``safe_places``); EPSG:4326. Homes are
        never drawn (the context itself is, masked in a partner's pack).
    options
        Partner, date, tiles, vendored scripts, map or not (:class:`PackOptions`).
    evidence, review
        From :func:`ctxmap.cases.evidence.context_evidence` and
        :func:`ctxmap.analysis.review.before_after` (sections left out when ``None``).
    """
    options = options or PackOptions()
    today = options.today or dt.date.today()
    for_partner = options.for_partner
    shown_evidence = _evidence(evidence) if evidence is not None else None
    shown_review = _review(review) if review is not None else None
    if for_partner is not None:
        check_threshold(options.threshold)
        bundle = filter_for_partner(bundle, for_partner, as_of=today,
                                    cell_m=check_cell_m(options.cell_m))
        # a shared output: recomputed from what the partner sees, through disclosure control
        shown_evidence = (partner_evidence(bundle, layers, evidence, options.threshold,
                                           options.study_area)
                          if evidence is not None else None)
        shown_review = (partner_review(bundle, layers, options.threshold, options.study_area)
                        if review is not None else None)
        evidence = None  # the lead agency's figures go nowhere in a partner's pack
    ctx = bundle.context
    masked = bundle.location_masked
    map_page = ""
    if options.include_map and ctx.geometry is not None:
        map_page = _map_page(bundle, layers, evidence, options)
    return render(
        "pack.html.j2",
        title=clean_text(ctx.name),
        audience=(f"Prepared for: {for_partner} (only what consent allows to be shared with "
                  "this partner)" if for_partner else
                  "Full record for the lead agency: do not pass on; make a partner pack "
                  "instead"),
        ctx=ctx,
        today=today.isoformat(),
        masked=masked,
        cell_m=f"{options.cell_m:g}",
        map_page=map_page,
        evidence=shown_evidence,
        review=shown_review,
        withheld=_withheld(bundle.withheld),
        **_record_tables(bundle, today),
    )


def _record_tables(bundle: ContextBundle, today: dt.date) -> dict[str, Any]:
    """The rows of the pack's tables, as plain values (the template escapes them)."""
    ctx = bundle.context
    return {
        "fields": [
            ["Kind", ctx.kind], ["Status", ctx.status], ["Referred on", ctx.referral_date],
            ["Reason for referral", ctx.referral_reason],
            ["Referring agency", ctx.referring_agency], ["Lead agency", ctx.lead_agency],
            ["Lead worker", ctx.lead_worker], ["Plan started", ctx.plan_start or "not yet"],
            ["Young people linked",
             ", ".join(y.yp_ref for y in bundle.young_people) or "none shown"],
        ],
        "assessment": [
            (title, [[e.factor, e.text, e.source,
                      f"{e.source_grade}{e.info_grade} "
                      f"({SOURCE_GRADES[e.source_grade].split(' (')[0]}; "
                      f"{INFO_GRADES[e.info_grade]})", e.yp_ref or "(collective)"]
                     for e in bundle.assessment if e.side == side])
            for side, title in ASSESSMENT_SIDES.items()
        ],
        "actions": [[a.partner, a.what, a.owner, a.due_date,
                     a.status + (" (OVERDUE)" if is_overdue(a, today) else ""), a.notes]
                    for a in bundle.actions],
        "action_classes": ["overdue" if is_overdue(a, today) else "" for a in bundle.actions],
        "safety_plan": ctx.safety_plan,
        "ratings": [[r.place_label, r.rating.upper(), r.rated_on, r.comment]
                    for r in bundle.safety_ratings],
        "consents": [[c.yp_ref, c.partner, CONSENT_CATEGORIES.get(c.category, c.category),
                      LEGAL_BASES.get(c.legal_basis, c.legal_basis), c.given_on,
                      c.withdrawn_on or ""] for c in bundle.consents],
        "notes": [[n.noted_on, n.kind + (f" ({n.yp_ref})" if n.yp_ref else ""), n.text]
                  for n in bundle.review_notes],
    }


def _withheld(withheld: Mapping[str, int] | None) -> str:
    if not withheld:
        return ""
    held = {k: v for k, v in withheld.items() if v}
    return ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in held.items()) or "nothing"


def _review(review: BeforeAfter) -> dict[str, Any]:
    return {
        "partner": False,
        "chart": trusted(review_svg(review)),
        "statement": review.statement,
        "caveats": CAVEATS,
        "categories": ", ".join(review.categories),
        "unlocated": review.unlocated,
    }


def _evidence(ev: ContextEvidence) -> dict[str, Any]:
    hotspot = None
    if ev.hotspot:
        h = ev.hotspot
        hotspot = {
            "flag": "a location of concern" if h["flagged"] else "not flagged",
            "incidents": h["incidents"], "expected": f"{h['expected']:.1f}",
            "rate_ratio": f"{h['rate_ratio']:.2f}", "p_value": format_p(float(h["p_value"])),
            "method": h["method"],
        }
    return {
        "partner": False,
        "total": int(ev.by_category.sum()),
        "where": f"within {ev.radius_m:g} m" if ev.shape == "point" else "within the drawn area",
        "period": f"{ev.period[0]} to {ev.period[1]}" if ev.period else "no data",
        "unlocated": ev.unlocated_in_period,
        "by_category": [[k, int(v)] for k, v in ev.by_category.items()],
        "hotspot": hotspot,
        "nearest_names": ", ".join(str(n) for n in ev.nearest["name"].fillna("unnamed")),
        "nearest": [[r.name if isinstance(r.name, str) else "unnamed", r.layer, r.category,
                     f"{r.distance_m:.0f}"] for r in ev.nearest.itertuples(index=False)],
    }


def write_pack(path: str | Path, page: str) -> Path:
    """Write a pack page to ``path`` (UTF-8) and return the path."""
    p = Path(path)
    p.write_text(page, encoding="utf-8")
    return p


def context_review(bundle: ContextBundle, layers: Mapping[str, gpd.GeoDataFrame],
                   study_area: BaseGeometry | StudyArea | StoredStudyArea | None = None,
                   ) -> BeforeAfter | None:
    """The before/after review of a context with a plan start, or ``None`` when impossible.

    Against ``study_area`` (EPSG:4326: the store's, :func:`ctxmap.store.marks.read_study_area`;
    default: the one district outline among the ``areas``). ``None`` when the context has
    no plan start or no location, there is no study area, or the data has no month on one
    side of the start.
    """
    from ctxmap.analysis.inputs import study_area as study_area_of
    from ctxmap.analysis.review import before_after
    from ctxmap.errors import InputError

    ctx = bundle.context
    area = context_area(ctx.geometry, ctx.radius_m)
    if ctx.plan_start is None or area is None or "incidents" not in layers:
        return None
    try:
        sa = outline_of(study_area)
        if sa is None:  # not given: the one district outline among the areas
            sa = study_area_of(layers.get("areas", layers["incidents"].iloc[0:0]))[0]
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
    sa = read_study_area(store)  # the store's: the baseline, outlined on the map
    evidence = context_evidence(ctx.geometry, layers, radius_m=ctx.radius_m, study_area=sa)
    review = context_review(bundle, layers, sa)
    configured = load_settings()
    options = PackOptions(for_partner=for_partner, today=today, tiles_url=tiles_url,
                          include_map=include_map,
                          threshold=configured.small_count_threshold or DEFAULT_THRESHOLD,
                          cell_m=configured.mask_cell_m or DEFAULT_CELL_M,
                          study_area=sa)
    return build_pack_html(bundle, layers, options, evidence=evidence, review=review)
