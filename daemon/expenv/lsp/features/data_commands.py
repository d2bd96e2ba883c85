"""`workspace/executeCommand` `expenv.data.{list,schema,preview,profile}`: one JSON object in,
the same JSON as `expenv data ... --json` out."""

from __future__ import annotations

from typing import Any

from expenv.domain.data import Order, to_json
from expenv.lsp.errors import InvalidArgument, command_options, user_errors
from expenv.lsp.server import ExpenvLanguageServer
from expenv.lsp.work import CancellableWork



def _order(options: dict[str, Any]) -> Order | None:
    """`sort`: {"column": NAME, "descending": false}, the whole dataset sorted by one column."""
    sort = options.get("sort")
    if sort is None:
        return None
    column = sort.get("column") if isinstance(sort, dict) else None
    descending = sort.get("descending", False) if isinstance(sort, dict) else None
    if not isinstance(column, str) or not column or len(column) > 1000 or not isinstance(descending, bool):
        raise InvalidArgument("sort", 'sort must be {"column": "<a column name>", "descending": true|false}')
    return Order(column, descending)


def _dataset(options: dict[str, Any]) -> str:
    name = options.get("dataset")
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument("dataset", 'pass {"dataset": "<path under a raw root, URL, or schema.table>"}')
    return name


def register(server: ExpenvLanguageServer) -> None:
    @server.command("expenv.data.list")
    @user_errors
    async def data_list(ls: ExpenvLanguageServer, *args: Any) -> Any:
        options = command_options(args)
        data = ls.workspace_for_command(options).services.data
        return to_json(await ls.run_blocking(data.list, options.get("layer")))

    @server.command("expenv.data.schema")
    @user_errors
    async def data_schema(ls: ExpenvLanguageServer, *args: Any) -> Any:
        options = command_options(args)
        data = ls.workspace_for_command(options).services.data
        return to_json(await ls.run_blocking(data.schema, _dataset(options)))

    @server.command("expenv.data.preview")
    @user_errors
    async def data_preview(ls: ExpenvLanguageServer, *args: Any) -> Any:
        options = command_options(args)
        data = ls.workspace_for_command(options).services.data
        limit = options.get("limit", 20)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
            raise InvalidArgument("limit", "limit must be an integer from 1 to 10000")
        offset = options.get("offset", 0)
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise InvalidArgument("offset", "offset must be a non-negative integer (rows to skip)")
        return to_json(await ls.run_blocking(data.preview, _dataset(options), limit, offset, _order(options)))

    @server.command("expenv.data.profile")
    @user_errors
    async def data_profile(ls: ExpenvLanguageServer, *args: Any) -> Any:
        options = command_options(args)
        data = ls.workspace_for_command(options).services.data
        name = _dataset(options)
        async with CancellableWork(ls, f"Profiling {name}") as work:
            return to_json(await work.run(data.profile, name, work.report, work.interrupt))
