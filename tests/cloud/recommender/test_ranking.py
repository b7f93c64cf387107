"""Properties of top-k selection under the serving rules, on random inputs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.recommender.ranking import top_k


@st.composite
def rankings(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int | None]:
    users = draw(st.integers(1, 4))
    items = draw(st.integers(1, 60))
    scores = np.array(
        draw(st.lists(st.integers(0, 6), min_size=users * items, max_size=users * items)),
        dtype=float,
    ).reshape(users, items)
    excluded = np.array(
        draw(st.lists(st.booleans(), min_size=users * items, max_size=users * items))
    ).reshape(users, items)
    codes = np.array(draw(st.lists(st.integers(-1, 3), min_size=items, max_size=items)))
    return scores, excluded, codes, draw(st.integers(1, 12)), draw(st.sampled_from([None, 2, 3]))


@settings(max_examples=100, deadline=None)
@given(rankings())
def test_top_k_respects_exclusions_order_and_the_category_cap(
    case: tuple[np.ndarray, np.ndarray, np.ndarray, int, int | None],
) -> None:
    scores, excluded, codes, k, cap = case
    result = top_k(scores, excluded, codes, k, cap)
    assert result.shape == (len(scores), k)
    for user, row in enumerate(result):
        chosen = row[row >= 0]
        allowed = np.flatnonzero(~excluded[user])
        # Never an excluded item, never twice the same, as many as allowed up to k.
        assert set(chosen.tolist()) <= set(allowed.tolist())
        assert len(set(chosen.tolist())) == len(chosen)
        assert len(chosen) == min(k, len(allowed))
        assert (row[len(chosen) :] == -1).all()
        if cap is None:
            # Best first: nothing left out scores higher than anything taken.
            left_out = np.setdiff1d(allowed, chosen)
            if len(left_out) and len(chosen):
                assert scores[user, left_out].max() <= scores[user, chosen].min()
            assert (np.diff(scores[user, chosen]) <= 0).all()
        else:
            counts = {code: (codes[chosen] == code).sum() for code in set(codes[chosen]) - {-1}}
            over = [code for code, count in counts.items() if count > cap]
            if over:
                # The cap only gives way when every item left out is of a full category.
                free = [
                    item
                    for item in np.setdiff1d(allowed, chosen)
                    if codes[item] == -1 or counts.get(codes[item], 0) < cap
                ]
                assert not free
