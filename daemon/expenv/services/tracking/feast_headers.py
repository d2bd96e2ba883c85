"""Feast's MLflow request-header provider, without importing feast in every MLflow process.

Feast registers a provider (entry point `mlflow.request_header_provider`) that MLflow loads at a
process's first REST call. Loading it imports the whole `feast` package: ~7 s of CPU (feast's
classes are re-compiled by typeguard at import), paid by every step, notebook and expenv command
that logs to MLflow, feast user or not. The provider adds a header only inside feast's
`mlflow_token_scope`, a ContextVar of its own module: while that module is not imported, it never
adds one. So expenv's run-context plugin (loaded at `import mlflow`) registers a stand-in that asks
feast's provider only once something else has imported it: the same headers, without the import.
"""

from __future__ import annotations

import sys
from typing import Any

FEAST_PROVIDER = "feast.infra.data_sources.mlflow.auth:FeastMLflowHeaderProvider"
REQUEST_HEADER_GROUP = "mlflow.request_header_provider"


class FeastHeadersOnceImported:
    """Feast's provider once feast has imported its module; until then, no header (as feast's)."""

    def __init__(self) -> None:
        self._provider: Any = None

    def _feasts(self) -> Any:
        if self._provider is None:
            module_name, class_name = FEAST_PROVIDER.split(":")
            provider_class = getattr(sys.modules.get(module_name), class_name, None)
            self._provider = provider_class() if provider_class is not None else None
        return self._provider

    def in_context(self) -> bool:
        provider = self._feasts()
        return provider is not None and provider.in_context()

    def request_headers(self) -> dict[str, str]:
        provider = self._feasts()
        return provider.request_headers() if provider is not None else {}


class _StandInEntryPoint:
    """What MLflow's registry reads of an entry point: its name, and `load()`."""

    def __init__(self, name: str):
        self.name = name

    def load(self) -> type:
        return FeastHeadersOnceImported


def defer_feast_request_headers() -> None:
    """Have MLflow's request-header registry (imported at the first REST call) get the stand-in
    for feast's provider. Other entry points and groups are MLflow's own answer."""
    from mlflow.utils import plugins

    if "mlflow.tracking.request_header.registry" in sys.modules or getattr(plugins.get_entry_points,
                                                                            "expenv_stand_in", False):
        return   # the providers are loaded already, or the stand-in is in place
    entry_points = plugins.get_entry_points

    def with_stand_in(group: str) -> Any:
        found = entry_points(group)
        if group != REQUEST_HEADER_GROUP:
            return found
        return [_StandInEntryPoint(ep.name) if ep.value == FEAST_PROVIDER else ep for ep in found]

    with_stand_in.expenv_stand_in = True   # type: ignore[attr-defined]
    plugins.get_entry_points = with_stand_in
