"""Retraining runs on one replica: the lease holder trains and publishes the model in the
database; another replica serves it without training its own."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from cloud.catalog.keys import CATALOG
from cloud.ops.const import JOB_RECOMMENDER_TRAINING
from cloud.ops.keys import JOBS
from cloud.recommender.web import RECOMMENDER
from tests.cloud.checkout.shop import open_shop
from tests.cloud.common import log_in
from tests.cloud.recommender.store_support import buy, new_shopper, prepared, wait_trained_on


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_one_replica_retrains_and_the_other_serves_its_model(
    aiohttp_client, cloud_settings, sim, smtp_server, tmp_path
):
    first = await open_shop(
        aiohttp_client, cloud_settings, sim, smtp_server, with_webhook=True, prepare=prepared()
    )
    for product in first.app[CATALOG].products:
        await first.add_stock(product.sku, 2)
    second = await open_shop(
        aiohttp_client,
        replace(cloud_settings, data_dir=tmp_path / "second"),
        sim,
        smtp_server,
        with_webhook=False,
        prepare=prepared(),
    )
    apps = [first.app, second.app]
    await _until(lambda: sum(a[JOBS].holds(JOB_RECOMMENDER_TRAINING) for a in apps) == 1)
    holder = next(a for a in apps if a[JOBS].holds(JOB_RECOMMENDER_TRAINING))
    follower = next(a for a in apps if a is not holder)
    trained_before = {id(a): a[RECOMMENDER].service.trainings for a in apps}

    ada = await new_shopper(aiohttp_client, first, "ada@example.com")
    await buy(first, ada, "EPD-1", "TH-BTHOME")
    await wait_trained_on(holder, 2)
    await wait_trained_on(follower, 2)  # through the published model

    assert holder[RECOMMENDER].service.trainings > trained_before[id(holder)]
    assert follower[RECOMMENDER].service.trainings == trained_before[id(follower)]
    follower_client = first.client if follower is first.app else second.client
    assert (await log_in(follower_client, ada.email)).status in (200, 303)
    body = await (await follower_client.get("/api/v1/me/recommendations")).json()
    assert body["personal"] is True
    assert body["items"] and not {"EPD-1", "TH-BTHOME"} & {i["sku"] for i in body["items"]}
