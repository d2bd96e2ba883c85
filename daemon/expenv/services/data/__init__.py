"""Raw data (files and object stores) and curated data (warehouse tables) for hovers, commands and the CLI.

Importing this package imports no engine: pyarrow, duckdb, sqlalchemy and fsspec load on first use.
"""

from expenv.services.data.service import DataService

__all__ = ["DataService"]
