"""Hover text from domain values (the pure converter behind `textDocument/hover`)."""

from __future__ import annotations

from expenv.domain.data import Column, DatasetRef, DatasetSchema, Layer
from expenv.lsp import render

REF = DatasetRef(Layer.CURATED, "curated.events", "curated.events", "table")


def test_a_row_count_that_is_an_estimate_says_so():
    text = render.dataset_hover(DatasetSchema(REF, [Column("id", "BIGINT")], 1_234_567, row_count_estimated=True),
                                None)
    assert "~1,234,567 rows (estimate)" in text


def test_an_exact_row_count_is_shown_as_is_and_an_unknown_one_as_unknown():
    assert "· 1,200 rows ·" in render.dataset_hover(DatasetSchema(REF, [Column("id", "BIGINT")], 1200), None)
    assert "? rows" in render.dataset_hover(DatasetSchema(REF, [Column("id", "BIGINT")], None), None)
