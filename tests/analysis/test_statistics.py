"""The statistical tests the analyses share, by hand."""

import numpy as np

from ctxmap.analysis.statistics import benjamini_hochberg


def test_benjamini_hochberg_by_hand():
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan]))
    assert np.allclose(q[:3], [0.03, 0.04, 0.04]) and np.isnan(q[3])
