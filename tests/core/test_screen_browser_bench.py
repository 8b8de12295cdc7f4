"""The screen benchmark's pure parts: percentiles with presses that never turned red, ratios, the report."""

from __future__ import annotations

import math

from benchmarks.screen_browser import Results, _pcts, _ratio, report_lines


def test_presses_that_never_turned_red_are_counted_not_averaged() -> None:
    p50, p99, missed = _pcts([10.0, None, 30.0, 20.0])
    assert (p50, missed) == (20.0, 1)
    assert p99 == 29.8
    assert all(math.isnan(v) for v in _pcts([None])[:2])


def test_ratio_is_ours_over_the_baseline_and_blank_without_one() -> None:
    assert _ratio(50.0, 100.0) == "0.50×"
    assert _ratio(50.0, 0.0) == "-"
    assert _ratio(math.nan, 100.0) == "-"


def test_report_names_each_baseline_and_its_ratio() -> None:
    results = Results(200, screen_ms=[900.0, 1000.0, 1100.0], dashboard_ms=[2000.0, 2000.0, 2000.0])
    results.red_ms, results.ha_ms, results.mutation_ms = [50.0, 70.0], [100.0, 140.0], [49.0, 69.0]
    results.clock_error_ms, results.dashboard_cards = [0.4, 0.6], 32
    lines = "\n".join(report_lines(results))
    assert "first render, median (ms)" in lines
    first_render = next(line for line in lines.splitlines() if line.startswith("first render"))
    assert first_render.split()[4:7] == ["1000", "2000", "0.50×"]
    assert "/lovelace (32 cards)" in lines
    assert "presses: 2; not red within 10 s: 0" in lines
