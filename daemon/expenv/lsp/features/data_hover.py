"""Hover content for a string naming one of our datasets: layer, format, size, rows and
schema; sample rows from the second hover of a dataset on (the first costs no more than a DESCRIBE). Any other symbol gets no answer, so Pylance/pyright answer as usual."""

from __future__ import annotations

from lsprotocol import types

from expenv.domain.errors import ExpenvError
from expenv.lsp import render
from expenv.lsp.server import ExpenvLanguageServer

SAMPLE_ROWS = 5


async def data_hover(ls: ExpenvLanguageServer, params: types.HoverParams) -> types.Hover | None:
    found = ls.dataset_at(params.text_document.uri, params.position)
    if found is None:
        return None
    mention, data = found
    try:
        schema, preview = await ls.run_blocking(data.glance, mention.text, SAMPLE_ROWS, render.SAMPLE_COLUMNS)
        text = render.dataset_hover(schema, preview)
    except ExpenvError as exc:
        text = render.error_hover(mention.text, str(exc))
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
        range=types.Range(start=types.Position(line=mention.line, character=mention.start),
                          end=types.Position(line=mention.end_line, character=mention.end)),
    )
