"""Hypothesis strategies for LSP traffic, from lsprotocol's own types.

`params_for(method)` walks the attrs class lsprotocol declares for a method's params and draws
JSON for it: the right field names and shapes, with an occasional value of the wrong type or out of
range (a negative line, a line past 2**31, a string where a number goes), and URIs drawn from a
small pool (open documents, unopened ones, missing files, other schemes) so that requests reach
the feature code instead of stopping at the first unknown document.
"""

from __future__ import annotations

import collections.abc
import enum
import functools
import types as pytypes
import typing

import attrs
from hypothesis import strategies as st
from lsprotocol import types

JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
JSON_ANY = st.recursive(JSON_LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=8)
# Mostly small numbers (lines and columns that exist), and 8% the edges a client should never send.
ODD_NUMBERS = (-1, -2**31, 2**31 - 1, 2**31, 2**53, 10**6, 1.5, "3")
NUMBERS = st.integers(0, 99).map(lambda n: ODD_NUMBERS[n - 92] if n >= 92 else n % 40)
TEXT = st.one_of(st.text(max_size=30), st.sampled_from([
    'pd.read_parquet("data/raw/', 'duckdb.sql("select * from ', '"data/raw/t.csv"', "\n", "\r\n", "é😀\t",
    "store.get_historical_features(", "spark.read.parquet('s3://b/k')", ")"]))


def camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class Pool:
    """Where the fuzzed requests point: documents the test opened, and many it did not."""

    def __init__(self, open_uris: list[str], other_uris: list[str]):
        self.open_uris = open_uris
        self.uris = st.sampled_from(open_uris + other_uris) | st.text(max_size=20)

    @functools.lru_cache(maxsize=None)  # noqa: B019 - one Pool per test module
    def for_type(self, tp: typing.Any, field: str = "", depth: int = 0) -> st.SearchStrategy:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if tp is typing.Any or depth > 6 or isinstance(tp, (str, typing.ForwardRef)):
            return JSON_ANY
        if tp is type(None):
            return st.none()
        if origin in (typing.Union, pytypes.UnionType):
            return st.one_of([self.for_type(a, field, depth) for a in args])
        if origin is typing.Literal:
            return st.sampled_from(args)
        if origin in (list, collections.abc.Sequence, tuple) and args:
            if origin is tuple and args[-1] is not Ellipsis:
                return st.tuples(*[self.for_type(a, field, depth) for a in args]).map(list)
            return st.lists(self.for_type(args[0], field, depth), max_size=3)
        if origin in (dict, collections.abc.Mapping) and args:
            return st.dictionaries(self.uris if "uri" in field or field == "changes" else st.text(max_size=8),
                                   self.for_type(args[1], field, depth), max_size=2)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return st.sampled_from([m.value for m in tp]) | st.just(999)
        if tp is bool:
            return st.booleans()
        if tp in (int, float):
            return NUMBERS
        if tp is str:
            if field.endswith("uri") or field == "uri" or field == "document":
                return self.uris
            return TEXT
        if attrs.has(tp):
            return self.for_class(tp, depth)
        return JSON_ANY

    def for_class(self, cls: type, depth: int = 0) -> st.SearchStrategy:
        hints = typing.get_type_hints(cls, vars(types))
        required, optional = {}, {}
        for f in attrs.fields(cls):
            target = optional if f.default is not attrs.NOTHING else required
            target[camel(f.name)] = self.for_type(hints[f.name], f.name, depth + 1)
        return st.fixed_dictionaries(required, optional=optional)


def params_class(method: str) -> type | None:
    return types.METHOD_TO_TYPES[method][2]
