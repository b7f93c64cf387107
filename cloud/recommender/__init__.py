"""Recommendations for the store: purchases blended with privacy, openness and environment.

The domain code here takes plain inputs (DataFrames or the dataclasses in
:mod:`cloud.recommender.records`) and never imports aiohttp; the web layer calls
:class:`cloud.recommender.service.RecommendationService`.
"""

from __future__ import annotations
