"""`workspace/executeCommand` `expenv.clusters.{launch,list,scale,stop,render,attach}`: one JSON
object in, the same JSON as `expenv cluster ... --json` out. Launch and attach show cancellable
work-done progress; cancelling removes everything the launch started."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from expenv.lsp.errors import command_options, text_option, user_errors
from expenv.lsp.server import ExpenvLanguageServer
from expenv.lsp.work import CancellableWork


log = logging.getLogger(__name__)
IDLE_CHECK_SECONDS = 60


async def _stop_idle_clusters(ls: ExpenvLanguageServer) -> None:
    """Every minute, list the clusters of each workspace that has any: listing stops those idle
    longer than their profile's idle_timeout (the CLI's lists and launches do the same)."""
    while True:
        await asyncio.sleep(IDLE_CHECK_SECONDS)
        for ws in ls.workspaces.all():
            if ws.services is None or not ws.services.clusters.recorded():
                continue
            try:
                listing = await ls.run_blocking(ws.services.clusters.list)
            except Exception as exc:  # noqa: BLE001 - a failing check must not end the loop
                log.warning("idle cluster check failed for %s: %s", ws.root, exc)
                continue
            idle = [h for h in listing["clusters"] if h.status == "stopped" and h.detail.startswith("stopped: idle")]
            for handle in idle:
                ls.log_to_client(f"expenv: cluster {handle.id} {handle.detail}")
            if idle:
                ls.workspace_changed(ws, "clusters")


def register(server: ExpenvLanguageServer) -> None:
    server.initialized_listeners.append(lambda ls: asyncio.ensure_future(_stop_idle_clusters(ls)))

    @server.command("expenv.clusters.launch")
    @user_errors
    async def clusters_launch(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """{"profile", "reuse"?, "python"?, "workspace"?} → the cluster with its connection and version check."""
        options = command_options(args)
        ws = ls.workspace_for_command(options)
        clusters = ws.services.clusters
        profile, python = text_option(options, "profile", required=True), text_option(options, "python")
        async with CancellableWork(ls, f"Launching cluster {profile}") as work:
            handle = await work.run(clusters.launch, profile, work.report, work.cancelled, bool(options.get("reuse")))
            ls.workspace_changed(ws, "clusters")
            return await ls.run_blocking(clusters.report, handle, python)

    @server.command("expenv.clusters.attach")
    @user_errors
    async def clusters_attach(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """{"target": cluster id or profile, "python"?, "workspace"?} → the connection cell to insert."""
        options = command_options(args)
        ws = ls.workspace_for_command(options)
        target, python = text_option(options, "target", required=True), text_option(options, "python")
        async with CancellableWork(ls, f"Attaching cluster {target}") as work:
            attached = await work.run(ws.services.clusters.attach, target, python, work.report, work.cancelled)
        ls.workspace_changed(ws, "clusters")   # a profile's attach may have launched one: the views show it
        return attached

    @server.command("expenv.clusters.list")
    @user_errors
    async def clusters_list(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """{"workspace"?} → {clusters, orphans, problems}."""
        return await ls.run_blocking(ls.workspace_for_command(command_options(args)).services.clusters.listing)

    @server.command("expenv.clusters.scale")
    @user_errors
    async def clusters_scale(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """{"id", "workers"} → the cluster."""
        options = command_options(args)
        ws = ls.workspace_for_command(options)
        cluster_id = text_option(options, "id", required=True)
        handle = await ls.run_blocking(ws.services.clusters.scale, cluster_id, options.get("workers"))
        ls.workspace_changed(ws, "clusters")
        return handle.as_dict()

    @server.command("expenv.clusters.stop")
    @user_errors
    async def clusters_stop(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """{"id"} or {"all": true} → {stopped: [ids]}."""
        options = command_options(args)
        ws = ls.workspace_for_command(options)
        clusters = ws.services.clusters
        if options.get("all") is True:
            stopped = await ls.run_blocking(clusters.stop_all)
        else:
            stopped = [await ls.run_blocking(clusters.stop, text_option(options, "id", required=True))]
        ls.workspace_changed(ws, "clusters")
        return {"stopped": [h.id for h in stopped]}

    @server.command("expenv.clusters.render")
    @user_errors
    async def clusters_render(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """{"profile"} → {profile, manifests}: what a kubernetes launch would apply."""
        options = command_options(args)
        profile = text_option(options, "profile", required=True)
        manifests = await ls.run_blocking(ls.workspace_for_command(options).services.clusters.render, profile)
        return {"profile": profile, "manifests": manifests}
