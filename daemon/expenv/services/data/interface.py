"""The data service's interface. The LSP layer and the CLI depend on this, not on a backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Protocol

from expenv.domain.data import DatasetEntry, DatasetRef, DatasetSchema, Order, Preview, Profile

if TYPE_CHECKING:
    from expenv.services.interrupt import QueryInterrupt


class DataLookup(Protocol):
    """Raw and curated data of one workspace. Every method raises `DataError` with a message
    fit to show the user (never a password, never a traceback)."""

    def resolve(self, name: str) -> DatasetRef:
        """A path under a raw root (workspace-relative or URL) or a curated `[schema.]table`."""

    def find(self, text: str) -> DatasetRef | None:
        """Like resolve, but None (no error, no I/O beyond metadata) when `text` names nothing of ours."""

    def list(self, layer: str | None = None) -> list[DatasetEntry]: ...

    def schema(self, name: str) -> DatasetSchema: ...

    def preview(self, name: str, limit: int = 20, offset: int = 0, order: Order | None = None) -> Preview:
        """`limit` rows after the first `offset`: in the dataset's stored order, or of the whole
        dataset sorted by `order` (a column of its schema)."""

    def schema_and_preview(self, name: str, limit: int = 5, max_columns: int | None = None
                           ) -> tuple[DatasetSchema, Preview]:
        """Both at once, as a hover shows them; the preview keeps only the first `max_columns` columns."""

    def glance(self, name: str, limit: int = 5, max_columns: int | None = None
               ) -> tuple[DatasetSchema, Preview | None]:
        """What a hover shows: the schema alone at the first glance at a dataset (no rows decoded),
        then the schema and its first `limit` rows."""

    def profile(self, name: str, progress: Callable[[str], None] | None = None,
                interrupt: QueryInterrupt | None = None) -> Profile:
        """Column profiles; `progress` hears what is being done, `interrupt.cancel()` from another
        thread stops the query under way (then `Cancelled`)."""

    def complete_path(self, prefix: str) -> list[str]:
        """Dataset paths under the raw roots that start with `prefix` (as the user would type them)."""

    def tables(self) -> list[str]:
        """Curated `schema.table` names."""

    def columns(self, table: str) -> list[str]: ...
