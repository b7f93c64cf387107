"""Constants of the recommender: signal names, tuning grids, serving limits, file format."""

from __future__ import annotations

from typing import Final

# The three ethics axes every catalog item is scored on (0-10), in a fixed order:
# arrays of ethics scores use this column order everywhere.
ETHICS_AXES: Final = ("privacy", "openness", "environment")
SCORE_MAX: Final = 10.0

DEFAULT_K: Final = 10

# Serving rules.
MAX_PER_CATEGORY: Final = 3  # at most this many items of one category in a top list
# Candidates examined per list slot before a row the cap leaves short looks further.
CANDIDATES_PER_SLOT: Final = 3
USERS_PER_CHUNK: Final = 1024  # batch ranking: bounds dense (users × items) arrays
COLD_START_POPULARITY_SHARE: Final = 0.3  # cold start: ethics first, popularity breaks ties

# Collaborative model (EASE, a closed-form linear item-item model).
EASE_L2: Final = 200.0  # ridge strength; ~ best HR@10 on MovieLens validation (50-500 tried)
COLLABORATIVE_MIN_SUPPORT: Final = 2  # an item bought once co-occurs with nothing reliable
COLLABORATIVE_MAX_ITEMS: Final = 3000  # bounds the dense solve to a few seconds on one core
# History items count less the further back they are, in purchases: the next purchase
# follows the last few much more than the first ones (MovieLens leave-last-out: +9% HR@10).
RECENCY_HALF_LIFE: Final = 20.0

# Content features: how much the three ethics scores weigh against category and tags.
ETHICS_FEATURE_SCALE: Final = 0.5

# Per-user ethics preference: a pseudo-count of neutral purchases, so that one purchase
# says little and ten consistent ones say a lot.
PREFERENCE_PRIOR_PURCHASES: Final = 2.0

# Blend-weight tuning by coordinate ascent on a validation split (the last training
# interaction of each user). Collaborative weight stays 1.0 as the scale reference.
TUNING_GRID: Final[dict[str, tuple[float, ...]]] = {
    "popularity": (0.0, 0.05, 0.1, 0.2, 0.4, 0.8),
    "content": (0.0, 0.05, 0.1, 0.2, 0.4),
    "preference": (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
    "ethics": (0.0, 0.05, 0.1, 0.2, 0.4),
}
TUNING_ROUNDS: Final = 2
TUNING_MAX_USERS: Final = 2000
TUNING_MIN_USERS: Final = 20  # fewer validation users than this: keep the default weights
# Ethics first, within a stated budget: the preference and general ethics weights are
# raised to the largest grid values that keep validation NDCG within this fraction of the
# tuned best.
ETHICS_ACCURACY_BUDGET: Final = 0.02
RANDOM_SEED: Final = 20261127

# Service.
TRAINING_DEBOUNCE_SECONDS: Final = 30.0
MODEL_FILE_FORMAT: Final = "ethos-recommender/2"
