"""Small-number suppression: what a report may show."""

from lotse.suppression import TOO_FEW, WITHHELD, count, statistic, total
from tests.insights.scenario import LT5


def test_small_counts_are_suppressed_and_totals_do_not_reveal_them():
    assert [count(n).text for n in (0, 1, 4, 5, 12)] == ["0", LT5, LT5, "5", "12"]
    assert count(3).value is None  # nothing a chart could draw
    assert total(9, [7, 2]).text == WITHHELD
    assert total(3, [2, 1]).text == LT5
    assert total(12, [7, 5, 0]).text == "12"
    assert statistic(2.25, 4).text == TOO_FEW
    assert statistic(None, 0).text == ""
    assert statistic(2.25, 5).text == "2.2"
