"""Hover content for a string naming one of our datasets: layer, format, size, rows and
schema; sample rows from the second hover of a dataset on (the first costs no more than a DESCRIBE). Any other symbol gets no answer, so Pylance/pyright answer as usual.
A slow storage or warehouse gets `[lsp] answer_timeout_ms`: then the hover names the dataset and
says its schema is loading, and the next hover shows what the background work found."""

from __future__ import annotations

from lsprotocol import types

from expenv.domain.errors import ExpenvError
from expenv.lsp import render
from expenv.lsp.answers import LATE
from expenv.lsp.server import ExpenvLanguageServer
from expenv.services.code.reads import candidate_at
from expenv.services.data.paths import looks_like_path

SAMPLE_ROWS = 5


def _hover_text(data, name: str) -> str | None:
    """The hover's markdown for `name`, or None when it is not one of our datasets (worker thread)."""
    if data.find(name) is None:
        return None
    try:
        return render.dataset_hover(*data.glance(name, SAMPLE_ROWS, render.SAMPLE_COLUMNS))
    except ExpenvError as exc:
        return render.error_hover(name, str(exc))


async def data_hover(ls: ExpenvLanguageServer, params: types.HoverParams) -> types.Hover | None:
    uri = params.text_document.uri
    data = ls.data_for_uri(uri)
    if data is None:
        return None
    found = candidate_at(ls.document_source(uri), params.position.line, params.position.character)
    if found is None:
        return None
    text = await ls.answer_in_time(uri, ("hover", found.text), _hover_text, data, found.text,
                                   network=data.on_network(found.text))
    if text is LATE and found.likely:
        text = render.loading_hover(found.text, "raw" if looks_like_path(found.text) else "curated")
    if text is None or text is LATE:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
        range=types.Range(start=types.Position(line=found.line, character=found.start),
                          end=types.Position(line=found.end_line, character=found.end)),
    )
