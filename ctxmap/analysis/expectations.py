"""Expectations for the count around a place: what each place's count is compared with.

Every expectation is a named method in :data:`METHODS`. A method takes the
:class:`ExpectationInputs` of one ranking (places, incidents and the study area, all in one
metric CRS) and returns an :class:`Expectation`: the expected count for each place, and the
words a reason uses to name it. :func:`expect` runs one by name; ``"auto"`` asks
:data:`AUTO` which method to use and records why.

Methods
-------
``study-area``
    The study area's incident density (located incidents inside the study area per km²,
    same period and categories) x the area of the place's circle clipped to the study area.
``local``
    The density of the place's own neighbourhood: incidents inside the study area in the
    ring from the radius out to ``ring_outer_m`` (default 1,500 m), per km² of the ring
    clipped to the study area, x the area of the circle clipped to the study area:
    ``expected = ring count x area(circle ∩ study area) / area(ring ∩ study area)``.
``model``
    The risk-terrain model fitted to the ranking's incidents, summed over the circle ∩
    study area (:mod:`ctxmap.analysis.model_expectation`); not used, and every reason says
    why, when the fit does not converge or is not calibrated.
``auto``
    :data:`AUTO` picks one of the above and says why: by default the one of ``local`` and
    ``model`` that best predicted the last months of the period from the months before
    (an out-of-sample evaluation, :mod:`ctxmap.analysis.evaluation`).

Adding a method
---------------
Write ``def my_method(inputs: ExpectationInputs) -> Expectation`` and add it with
:func:`register` (``register("model", my_method)``); to let ``auto`` choose with evidence,
replace the chooser with :func:`set_auto` (``set_auto(fn)``, where
``fn(inputs) -> (method name, sentence saying why)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

import geopandas as gpd
import numpy as np
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.counting import clipped_circle_km2, count_total_within
from ctxmap.errors import InputError

#: The names ``--baseline`` accepts, in the order the page offers them.
BASELINES: Final = ("auto", "local", "study-area", "model")
#: Default outer radius of the ``local`` ring, metres.
RING_OUTER_M: Final = 1500.0


@dataclass(frozen=True)
class ExpectationInputs:
    """What an expectation may use, for the located places of one ranking.

    Attributes
    ----------
    px, py
        Located places' coordinates in ``metric_crs`` (metres).
    observed
        Incidents within ``radius_m`` of each located place (what is being explained).
    ix, iy
        The selected, located incidents (period and categories) in ``metric_crs``.
    in_area
        Which of those incidents lie inside the study area.
    area
        The study area in ``metric_crs`` (prepared).
    area_name
        The study area's name for sentences (e.g. ``"Norwich"``).
    area_km2
        Its area, km².
    circle_km2
        Each place's circle clipped to the study area, km².
    radius_m
        The counting radius.
    ring_outer_m
        Outer radius of the ``local`` ring (> ``radius_m``).
    period
        The months counted, ``(first, last)``.
    metric_crs
        The CRS of every coordinate above.
    incidents
        The selected incidents themselves (layer CRS; unlocated rows included), for methods
        that need more than points (e.g. months).
    layers
        Other layers a method may use (e.g. OpenStreetMap places, population), by kind;
        may be empty.
    """

    px: np.ndarray
    py: np.ndarray
    observed: np.ndarray
    ix: np.ndarray
    iy: np.ndarray
    in_area: np.ndarray
    area: BaseGeometry
    area_name: str
    area_km2: float
    circle_km2: np.ndarray
    radius_m: float
    ring_outer_m: float
    period: tuple[str, str]
    metric_crs: str
    incidents: gpd.GeoDataFrame
    layers: Mapping[str, gpd.GeoDataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class Expectation:
    """One method's expected counts and the words that name it.

    Attributes
    ----------
    method
        The registered name (``"study-area"``, ``"local"``, ``"model"``).
    expected
        Expected incidents within the radius of each located place (NaN: no expectation).
    compared_with
        How a reason introduces the expected count, completed with the number:
        ``f"{compared_with} {expected:.1f}, so this is {ratio:.1f} times that."``
        (e.g. ``"Its neighbourhood (400–1,500 m, within Norwich) would give"``).
    no_baseline
        Why a place without an expectation has none (a sentence).
    description
        How the expectation is computed (one paragraph, for the method statement).
    chosen_because
        For ``auto``: the sentence saying why this method was chosen; else ``""``.
    details
        Method-specific figures (e.g. density per km², the ring), for metadata.
    """

    method: str
    expected: np.ndarray
    compared_with: str
    no_baseline: str
    description: str
    chosen_because: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


ExpectationMethod = Callable[[ExpectationInputs], Expectation]
AutoChooser = Callable[[ExpectationInputs], tuple[str, str]]


def study_area_expectation(inputs: ExpectationInputs) -> Expectation:
    """``study-area``: the study area's density x the circle clipped to the study area."""
    n_in = int(np.count_nonzero(inputs.in_area))
    density = n_in / inputs.area_km2 if inputs.area_km2 > 0 else float("nan")
    return Expectation(
        method="study-area",
        expected=density * inputs.circle_km2,
        compared_with=f"An area that size in {inputs.area_name} (study area) averages",
        no_baseline=f"there is no baseline: the circle lies outside {inputs.area_name} "
        "(study area)",
        description=(
            f"study-area baseline: {n_in:,} incidents in {inputs.area_name} over "
            f"{inputs.area_km2:.1f} km² ({density:.1f} per km²) x the area of the place's "
            f"{inputs.radius_m:g} m circle clipped to the study area"
        ),
        details={"density_per_km2": density, "incidents_in_study_area": n_in},
    )


def ring_text(inputs: ExpectationInputs) -> str:
    """``"400–1,500 m"``: the local ring."""
    return f"{inputs.radius_m:,.0f}–{inputs.ring_outer_m:,.0f} m"


def local_expectation(inputs: ExpectationInputs) -> Expectation:
    """``local``: the ring's incidents scaled from the ring's area to the circle's.

    ``expected = ring count x area(circle ∩ study area) / area(ring ∩ study area)``, where
    the ring runs from ``radius_m`` to ``ring_outer_m`` and only incidents inside the study
    area count in it. ``area(ring ∩ A) = area(outer circle ∩ A) - area(circle ∩ A)``
    (the circle lies inside the outer circle). No expectation where the clipped ring has no
    area or no incidents.
    """
    if not inputs.ring_outer_m > inputs.radius_m:
        raise InputError(
            f"ring outer radius {inputs.ring_outer_m:g} m; expected more than the radius "
            f"({inputs.radius_m:g} m)"
        )
    ring = ring_text(inputs)
    ix, iy = inputs.ix[inputs.in_area], inputs.iy[inputs.in_area]
    inner = count_total_within(inputs.px, inputs.py, ix, iy, inputs.radius_m)
    outer = count_total_within(inputs.px, inputs.py, ix, iy, inputs.ring_outer_m)
    ring_count = (outer - inner).astype(float)
    outer_km2 = clipped_circle_km2(inputs.px, inputs.py, inputs.ring_outer_m, inputs.area)
    ring_km2 = np.maximum(outer_km2 - inputs.circle_km2, 0.0)
    ok = (ring_km2 > 1e-9) & (ring_count > 0)
    expected = np.full(len(inputs.px), np.nan)
    expected[ok] = ring_count[ok] * inputs.circle_km2[ok] / ring_km2[ok]
    return Expectation(
        method="local",
        expected=expected,
        compared_with=f"Its neighbourhood ({ring}, within {inputs.area_name}) would give",
        no_baseline=f"there is no baseline: its neighbourhood ({ring}) has no incidents "
        f"inside {inputs.area_name}, or lies outside it",
        description=(
            f"local baseline: the incidents in the ring {ring} around the place, per km² of "
            f"the ring clipped to {inputs.area_name}, x the area of the {inputs.radius_m:g} m "
            "circle clipped to the study area"
        ),
        details={"ring_outer_m": float(inputs.ring_outer_m), "ring_count": ring_count,
                 "ring_km2": ring_km2},
    )


def _model(inputs: ExpectationInputs) -> Expectation:
    """``model`` (imported when used: the model module builds on this one)."""
    from ctxmap.analysis.model_expectation import model_expectation

    return model_expectation(inputs)


def _auto_by_evaluation(inputs: ExpectationInputs) -> tuple[str, str]:
    """``auto``'s default chooser: the best predictor of the period's last months."""
    from ctxmap.analysis.model_expectation import auto_choice

    return auto_choice(inputs)


#: The expectation methods by name (``auto`` is not one: see :data:`AUTO`).
METHODS: dict[str, ExpectationMethod] = {
    "study-area": study_area_expectation,
    "local": local_expectation,
    "model": _model,
}
#: How ``auto`` chooses: ``AUTO[0](inputs) -> (method name, sentence saying why)``.
AUTO: list[AutoChooser] = [_auto_by_evaluation]


def register(name: str, method: ExpectationMethod) -> None:
    """Add or replace the expectation method ``name`` (e.g. ``"model"``)."""
    if name == "auto":
        raise InputError("'auto' is not a method; replace its chooser with set_auto()")
    METHODS[name] = method


def set_auto(chooser: AutoChooser) -> None:
    """Replace how ``auto`` chooses a method (``chooser(inputs) -> (name, why)``)."""
    AUTO[0] = chooser


def check_baseline(name: str) -> str:
    """Return ``name`` if it is ``auto`` or a registered method, else raise InputError."""
    if name != "auto" and name not in METHODS:
        raise InputError(
            f"baseline {name!r}; expected one of: {', '.join(['auto', *METHODS])}"
        )
    return name


def expect(name: str, inputs: ExpectationInputs) -> Expectation:
    """Run the expectation ``name`` (``"auto"``: the method :data:`AUTO` chooses).

    Raises
    ------
    InputError
        For an unknown name, or a method that cannot run on these inputs.
    """
    check_baseline(name)
    if name != "auto":
        return METHODS[name](inputs)
    chosen, why = AUTO[0](inputs)
    check_baseline(chosen)
    if chosen == "auto":
        raise InputError("the auto chooser returned 'auto'; expected a method name")
    return replace(METHODS[chosen](inputs), chosen_because=why)


__all__ = [
    "AUTO",
    "BASELINES",
    "METHODS",
    "RING_OUTER_M",
    "AutoChooser",
    "Expectation",
    "ExpectationInputs",
    "ExpectationMethod",
    "check_baseline",
    "expect",
    "local_expectation",
    "register",
    "ring_text",
    "set_auto",
    "study_area_expectation",
]
