"""The Locations of concern page's Methods tab and risk-terrain layer on the bundled sample."""

from __future__ import annotations

import re

from tests.app.test_pages import map_payload, run_page


def test_methods_tab_shows_the_evaluation_and_the_heat_follows_it(store_copy):
    at = run_page("concern.py", timeout=180)
    (table,) = [d.value for d in at.dataframe if "PAI 1%" in d.value.columns]
    assert table["Method"].tolist()[:5] == [
        table["Method"].iloc[0], "KDE, 200 m", "KDE, 400 m", "last period's counts",
        "local expectation"]
    assert table["Method"].iloc[0].startswith("KDE, Scott's rule (")
    assert table["Method"].iloc[-1] == "risk-terrain model"
    text = " ".join(m.value for m in at.markdown)
    assert "Out-of-sample evaluation" in text
    assert "Auto expectation:" in text
    assert re.search(r"Flags that held \(study\\?-area expectation\):\*\* \d+ of the \d+", text)
    # the heat layer's bandwidth is the evaluated best one, and the page says so
    best = re.search(r"Heat layer default:\*\* ([\d,]+) m", text)
    assert best is not None
    assert re.search(rf"bandwidth \*\*{best.group(1)} m\*\* \(best of Scott", text)
    assert "Risk-terrain model (" in text
    script = map_payload(at)["script"]
    assert "Risk terrain (relative risk)" in script
    # each place's popup shows the expectations side by side (the model's is empty here:
    # it is not calibrated on the sample's places)
    assert re.search(r"Expected by: study-area [\d.,]+ \\u00b7 local [\d.,]+", script) or \
        re.search(r"Expected by: study-area [\d.,]+ · local [\d.,]+", script)
