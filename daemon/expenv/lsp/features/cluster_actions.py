"""The code action "Run this on cluster profile NAME" on lines that build their own compute
(`LocalCluster(...)`, `Client()`, `SparkSession.builder...getOrCreate()`, `ray.init()`), and the
command it runs, `expenv.clusters.runOnProfile`: launch the profile (or reuse a running one) with
cancellable progress, then rewrite the call to connect to it."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from expenv.domain.clusters import ClusterError
from expenv.lsp.errors import command_options, user_errors
from expenv.lsp.server import ExpenvLanguageServer
from expenv.lsp.work import CancellableWork

RUN_ON_PROFILE = "expenv.clusters.runOnProfile"


def cluster_actions(ls: ExpenvLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    from expenv.services.clusters.code import compute_calls

    uri = params.text_document.uri
    ws, doc = ls.workspace_for_uri(uri), ls.open_document(uri)
    if ws is None or ws.services is None or doc is None:
        return []
    first, last = params.range.start.line, params.range.end.line
    calls = [c for c in compute_calls(doc.source) if c.line <= last and c.end_line >= first]
    profiles = ws.services.clusters.profiles()
    return [types.CodeAction(
        title=f"Run this on cluster profile {name} ({profile.kind} on {profile.backend})",
        kind=types.CodeActionKind.RefactorRewrite,
        command=types.Command(title=f"Run this on cluster profile {name}", command=RUN_ON_PROFILE,
                              arguments=[{"uri": uri, "line": call.line, "character": call.column,
                                          "profile": name}]))
        for call in calls for name, profile in profiles.items() if profile.kind == call.kind]


def register(server: ExpenvLanguageServer) -> None:
    @server.command(RUN_ON_PROFILE)
    @user_errors
    async def run_on_profile(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """{"uri", "line", "character", "profile"} → the cluster; the call at that place is rewritten."""
        from expenv.services.clusters.code import compute_calls, connected_call

        options = command_options(args)
        uri, profile = options.get("uri"), options.get("profile")
        if not isinstance(uri, str) or not isinstance(profile, str):
            raise ClusterError('pass {"uri", "line", "character", "profile"} (from the code action)')
        ws, doc = ls.workspace_for_uri(uri), ls.open_document(uri)
        if ws is None or ws.services is None or doc is None:
            raise ClusterError(f"uri: {uri} is not an open document of a workspace with expenv.toml")
        calls = [c for c in compute_calls(doc.source)
                 if (c.line, c.column) == (options.get("line"), options.get("character"))]
        if not calls:
            raise ClusterError("line: no LocalCluster/Client/getOrCreate/ray.init call there any more")
        clusters = ws.services.clusters
        async with CancellableWork(ls, f"Launching cluster {profile}") as work:
            handle = await work.run(clusters.launch, profile, work.report, work.cancelled, True)
        source = ls.open_document(uri).source
        call = next((c for c in compute_calls(source) if c.what == calls[0].what and c.line == calls[0].line), None)
        if call is None:
            raise ClusterError("the document changed while the cluster launched; run the action again")
        edit = types.TextEdit(range=types.Range(start=types.Position(line=call.line, character=call.column),
                                                end=types.Position(line=call.end_line, character=call.end_column)),
                              new_text=connected_call(call, source, handle.address))
        await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(
            edit=types.WorkspaceEdit(changes={uri: [edit]}), label=f"Connect to cluster {handle.id}"))
        return await ls.run_blocking(clusters.report, handle, None)
