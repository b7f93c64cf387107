"""Metric functions against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cloud.recommender.metrics import coverage, hit_rate, mean_ethics, ndcg

# User 0 finds the held-out item at position 1, user 1 at position 2, user 2 not at all.
RANKED = np.array([[3, 1, 2], [0, 5, 6], [7, 8, -1]])
HELD_OUT = np.array([1, 6, 4])


def test_hit_rate_counts_users_whose_item_is_in_the_list() -> None:
    assert hit_rate(RANKED, HELD_OUT) == pytest.approx(2 / 3)


def test_ndcg_discounts_by_position() -> None:
    # (1/log2(1+2) + 1/log2(2+2) + 0) / 3
    expected = (1 / math.log2(3) + 1 / math.log2(4)) / 3
    assert ndcg(RANKED, HELD_OUT) == pytest.approx(expected)
    assert expected == pytest.approx(0.376977, abs=1e-6)


def test_ndcg_is_one_when_every_item_comes_first() -> None:
    assert ndcg(np.array([[4, 1], [2, 3]]), np.array([4, 2])) == pytest.approx(1.0)


def test_padding_never_counts_as_a_hit() -> None:
    assert hit_rate(np.array([[-1, -1]]), np.array([5])) == 0.0


def test_coverage_is_the_share_of_the_catalog_shown() -> None:
    # Shown: 0, 1, 2, 3, 5, 6, 7, 8 -> 8 of 20; the padding -1 is not an item.
    assert coverage(RANKED, 20) == pytest.approx(0.4)


def test_mean_ethics_ignores_unscored_items() -> None:
    ethics = np.array([9.0, 6.0, np.nan, 3.0])
    assert mean_ethics(np.array([[0, 2], [3, -1]]), ethics) == pytest.approx(6.0)
    assert mean_ethics(np.array([[2]]), ethics) is None
