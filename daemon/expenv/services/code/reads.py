"""Every data read found in a document, with its layer: the groundwork of the sourcing policy
(a later diagnostic flags raw or curated reads in production pipelines)."""

from __future__ import annotations

from dataclasses import dataclass

from expenv.domain.data import DatasetRef, Layer
from expenv.services.code.sql import looks_like_sql, sql_references
from expenv.services.code.strings import StringLiteral, string_literals
from expenv.services.data.interface import DataLookup

FEATURE_STORE_CALLS = ("get_historical_features", "get_online_features")


@dataclass(frozen=True)
class DataRead:
    """One reference to a dataset in code. Positions are 0-based (line, column)."""

    layer: Layer
    dataset: str
    location: str
    call: str | None
    line: int
    start: int
    end_line: int
    end: int


@dataclass(frozen=True)
class DatasetMention:
    """A string (or a part of a SQL string) that names one of our datasets."""

    literal: StringLiteral
    ref: DatasetRef
    text: str
    line: int
    start: int
    end_line: int
    end: int


def mentions(source: str, lookup: DataLookup) -> list[DatasetMention]:
    out: list[DatasetMention] = []
    for lit in string_literals(source):
        if looks_like_sql(lit.value):
            for sub in sql_references(lit.value):
                ref = lookup.find(sub.value)
                if ref is not None:
                    (l1, c1), (l2, c2) = lit.position_at(sub.start), lit.position_at(sub.end)
                    out.append(DatasetMention(lit, ref, sub.value, l1, c1, l2, c2))
        else:
            ref = lookup.find(lit.value)
            if ref is not None:
                out.append(DatasetMention(lit, ref, lit.value, lit.line, lit.start, lit.end_line, lit.end))
    return out


def find_reads(source: str, lookup: DataLookup) -> list[DataRead]:
    reads = [DataRead(m.ref.layer, m.ref.name, m.ref.location, m.literal.call, m.line, m.start, m.end_line, m.end)
             for m in mentions(source, lookup)]
    for lit in string_literals(source):
        if lit.call and lit.call.rsplit(".", 1)[-1] in FEATURE_STORE_CALLS:
            reads.append(DataRead(Layer.FEATURE_STORE, lit.value, lit.value, lit.call,
                                  lit.line, lit.start, lit.end_line, lit.end))
    return reads


@dataclass(frozen=True)
class DatasetCandidate:
    """The string (or the table reference inside a SQL string) under the cursor, before anyone
    asks a backend whether it is a dataset. `likely`: it looks like one without asking (a path,
    a URL, a table named by SQL text), so a hover may name it while the backend is slow."""

    literal: StringLiteral
    text: str
    line: int
    start: int
    end_line: int
    end: int
    likely: bool

    def named(self, ref: DatasetRef) -> DatasetMention:
        """This candidate, once a lookup found the dataset it names."""
        return DatasetMention(self.literal, ref, self.text, self.line, self.start, self.end_line, self.end)


def candidate_at(source: str, line: int, character: int) -> DatasetCandidate | None:
    """What `mention_at` would look up at a 0-based position: no backend is asked."""
    from expenv.services.code.built import built_around
    from expenv.services.code.sql import reference_at
    from expenv.services.code.strings import literal_at
    from expenv.services.data.paths import looks_like_path

    lit = literal_at(source, line, character)
    if lit is None:
        return None
    if looks_like_sql(lit.value):
        sub = reference_at(lit.value, lit.offset_of(line, character, source.split("\n")))
        if sub is None:
            return None
        (l1, c1), (l2, c2) = lit.position_at(sub.start), lit.position_at(sub.end)
        return DatasetCandidate(lit, sub.value, l1, c1, l2, c2, likely=sub.kind == "table" or looks_like_path(sub.value))
    built = built_around(source, lit)   # `RAW / "x.parquet"`: the expression names the dataset, as the policy reads it
    if built is not None:
        text, (l1, c1, l2, c2) = built
        return DatasetCandidate(lit, text, l1, c1, l2, c2, likely=looks_like_path(text))
    return DatasetCandidate(lit, lit.value, lit.line, lit.start, lit.end_line, lit.end,
                            likely=looks_like_path(lit.value))


def mention_at(source: str, line: int, character: int, lookup: DataLookup) -> DatasetMention | None:
    """The dataset named by the literal (or the part of a SQL literal) under the cursor."""
    found = candidate_at(source, line, character)
    ref = lookup.find(found.text) if found is not None else None
    return found.named(ref) if ref is not None else None
