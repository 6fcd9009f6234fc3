"""Where Keel's logs go: JSON lines for machines, or short lines for people, on stderr."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from infrastructure.settings import KeelSettings


class JsonLines(logging.Formatter):
    """One JSON object per record; audit records carry their fields at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "audit", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ConsoleLines(logging.Formatter):
    """A line a person reads: level, logger, message, then the audit fields as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{key}={value}" for key, value in getattr(record, "audit", {}).items())
        line = f"{record.levelname.lower()} {record.name}: {record.getMessage()}"
        return f"{line} {fields}".rstrip()


def configure_logging(settings: KeelSettings) -> None:
    """Send the `keel` loggers (and SQLAlchemy's, when SQL echo is on) to stderr.

    Hosts that configure logging themselves need not call this: Keel only emits records.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if settings.log_format == "json" else ConsoleLines())
    keel = logging.getLogger("keel")
    keel.handlers[:] = [handler]
    keel.setLevel(settings.log_level)
    keel.propagate = False
