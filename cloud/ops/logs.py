"""JSON logs: one JSON object per line, with the request id of the request being handled.

`ETHOS_LOG_FORMAT=json` (the default of `ethos cloud serve` in production) or `text`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from cloud.config import ConfigError
from cloud.web.request_id import RequestIdFilter

LOG_FORMAT_ENV = "ETHOS_LOG_FORMAT"
LOG_FORMATS = ("json", "text")


class JsonLogFormatter(logging.Formatter):
    """time (UTC, ISO 8601), level, logger, message, request_id, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_format(env: Mapping[str, str], production: bool) -> str:
    chosen = (env.get(LOG_FORMAT_ENV) or ("json" if production else "text")).lower()
    if chosen not in LOG_FORMATS:
        raise ConfigError(f"{LOG_FORMAT_ENV} must be 'json' or 'text', not {chosen!r}")
    return chosen


def use_log_format(chosen: str, root: logging.Logger | None = None) -> None:
    """Give every handler of the root logger the request id, and JSON lines if chosen."""
    root = root or logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(RequestIdFilter())
        if chosen == "json":
            handler.setFormatter(JsonLogFormatter())
