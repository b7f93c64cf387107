"""Saving a trained model to one file and loading it back, so a restart serves at once.

The file is a NumPy ``.npz`` archive of plain arrays plus a JSON header; it is read with
``allow_pickle=False``, so a tampered file cannot run code. Writes go to a temporary file
that replaces the old one atomically: a crash mid-write leaves the previous model.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .const import MODEL_FILE_FORMAT
from .items import ItemTable
from .model import BlendWeights, RecommenderModel


class ModelFileError(Exception):
    """The model file is missing parts, from another format version, or unreadable."""


def save_model(model: RecommenderModel, path: Path) -> None:
    header = {
        "format": MODEL_FILE_FORMAT,
        "weights": model.weights.as_dict(),
        "purchases": model.purchases,
        "saved_at": datetime.now(UTC).isoformat(),
    }
    arrays = {
        "header": np.array(json.dumps(header)),
        "skus": model.items.skus.astype(str),
        "categories": model.items.categories.astype(str),
        "names": model.items.names.astype(str),
        "ethics": model.items.ethics,
        "features": model.items.features,
        "covered": model.covered,
        "item_weights": model.item_weights,
        "bought_together": model.bought_together,
        "popularity": model.popularity,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            # numpy types `**kwds` as if `allow_pickle` could be among them.
            np.savez_compressed(stream, **arrays)  # type: ignore[arg-type]
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_model(path: Path) -> RecommenderModel:
    try:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(str(archive["header"]))
            if header.get("format") != MODEL_FILE_FORMAT:
                raise ModelFileError(f"{path}: format {header.get('format')!r} is not supported")
            items = ItemTable(
                skus=archive["skus"],
                categories=archive["categories"],
                names=archive["names"],
                ethics=archive["ethics"],
                features=archive["features"],
            )
            return RecommenderModel(
                items=items,
                covered=archive["covered"],
                item_weights=archive["item_weights"],
                bought_together=archive["bought_together"],
                popularity=archive["popularity"],
                weights=BlendWeights(**header["weights"]),
                purchases=int(header["purchases"]),
            )
    except ModelFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise ModelFileError(f"{path}: cannot read the model ({err})") from err
