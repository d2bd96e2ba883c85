"""Cell values as JSON: what a preview row or a profile statistic may hold."""

from __future__ import annotations

import datetime as _dt
import math
from decimal import Decimal
from typing import Any
from uuid import UUID

MAX_TEXT = 1000  # a preview cell longer than this is cut: a hover is not the place for a blob


def json_value(value: Any) -> Any:
    """None, bool, int, float (finite), str, list or dict; ISO strings for dates and times."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return None if value != value else value.isoformat()  # pandas' NaT is a datetime unequal to itself
    if isinstance(value, _dt.timedelta):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return repr(raw if len(raw) <= 64 else raw[:64]) + ("…" if len(raw) > 64 else "")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_value(v) for v in value]
    return _foreign(value)


def _foreign(value: Any) -> Any:
    """numpy and pandas scalars (NaT, NaN, Timestamp) without importing either."""
    kind = type(value).__name__
    if kind in ("NaTType", "NAType"):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        try:
            return json_value(value.item())
        except (TypeError, ValueError):
            pass
    if hasattr(value, "tolist"):  # numpy array inside a list cell
        return json_value(value.tolist())
    return str(value)


def json_row(row: Any) -> list[Any]:
    return [json_value(v) for v in row]
