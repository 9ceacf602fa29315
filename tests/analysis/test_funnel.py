"""Funnel limits and over-dispersion (Spiegelhalter 2005) against a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ctxmap.analysis.funnel import estimate, poisson_z, winsorise, z_for
from ctxmap.analysis.statistics import format_p
from ctxmap.errors import InputError

# ten places: expected and observed counts
E = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
OBS = [12, 18, 45, 40, 50, 70, 60, 95, 90, 160]


def test_overdispersion_matches_hand_computation():
    # 1. z = (O - E) / sqrt(E), by hand:
    #    2/√10, -2/√20, 15/√30, 0, 0, 10/√60, -10/√70, 15/√80, 0, 60/√100
    z = [0.632456, -0.447214, 2.738613, 0.0, 0.0, 1.290994, -1.195229, 1.677051, 0.0, 6.0]
    assert poisson_z(np.array(OBS), np.array(E)) == pytest.approx(z, abs=1e-6)
    # 2. winsorise at the 10th/90th percentiles (linear: 0.9 and 9.1 of 0..9 sorted ranks)
    #    sorted: -1.195229, -0.447214, 0, 0, 0, 0.632456, 1.290994, 1.677051, 2.738613, 6
    lo = -1.195229 + 0.9 * (-0.447214 - -1.195229)  # = -0.522015
    hi = 2.738613 + 0.1 * (6.0 - 2.738613)  # = 3.064752
    zw = [min(max(v, lo), hi) for v in z]
    assert winsorise(np.array(z)) == pytest.approx(zw, abs=1e-6)
    # 3. phi = mean of squares: (0.4 + 0.2 + 7.5 + 1.666667 + 0.2725 + 2.8125 + 9.392704) / 10
    phi = (0.4 + 0.2 + 7.5 + 0 + 0 + 1.666667 + lo * lo + 2.8125 + 0 + hi * hi) / 10
    assert phi == pytest.approx(2.224437, abs=1e-5)
    # 4. tau² = (n phi - (n - 1)) / (Σw - Σw²/Σw), w = E: Σw = 550, Σw² = 38,500
    tau2 = (10 * phi - 9) / (550 - 38500 / 550)  # = 13.24437 / 480
    assert tau2 == pytest.approx(0.0275924, abs=1e-6)
    f = estimate(np.array(OBS), np.array(E))
    assert f.n == 10
    assert f.phi == pytest.approx(phi, abs=1e-5)
    assert f.tau2 == pytest.approx(tau2, abs=1e-7)
    # 5. limits E ± z_p sqrt(E + tau² E²): E = 50 at 99.8 %, E = 100 at 95 %
    lo50, hi50 = f.limits(50.0)
    assert hi50 == pytest.approx(50 + 3.090232 * math.sqrt(50 + tau2 * 2500), abs=1e-4)
    assert hi50 == pytest.approx(83.7078, abs=1e-3)
    assert lo50 == pytest.approx(50 - 3.090232 * math.sqrt(50 + tau2 * 2500), abs=1e-4)
    assert f.limits(100.0, 0.95)[1] == pytest.approx(138.0013, abs=1e-3)
    # the place with 160 against 100 lies above the 99.8 % limit; 95 against 80 does not
    upper = f.limits(np.array(E, dtype=float))[1]
    assert [o > u for o, u in zip(OBS, upper, strict=True)] == [False] * 9 + [True]


def test_no_overdispersion_gives_poisson_limits():
    # z-scores all small: n·phi <= n - 1, so tau² = 0 and the limits are E ± z sqrt(E)
    e = np.array([4.0, 9.0, 16.0, 25.0])
    o = np.array([4.0, 9.0, 16.0, 26.0])
    f = estimate(o, e)
    assert f.tau2 == 0.0
    assert f.limits(16.0)[1] == pytest.approx(16 + 3.090232 * 4, abs=1e-5)
    # places without an expectation are left out of the estimate
    g = estimate(np.array([*o, 50.0]), np.array([*e, np.nan]))
    assert g.n == 4 and g.tau2 == f.tau2


def test_levels_and_z():
    assert z_for(0.998) == pytest.approx(3.090232, abs=1e-6)
    assert z_for(0.95) == pytest.approx(1.959964, abs=1e-6)
    with pytest.raises(InputError, match="funnel level"):
        z_for(99.8)


def test_p_values_are_never_written_as_tiny_numbers():
    assert format_p(1e-111) == "< 0.001"
    assert format_p(0.0) == "< 0.001"
    assert format_p(0.00099) == "< 0.001"
    assert format_p(0.001) == "= 0.001"
    assert format_p(0.0123) == "= 0.012"
    assert format_p(0.5) == "= 0.5"
    assert format_p(float("nan")) == "not computed"
