// Entry point: wires the output channel, the daemon, its restart triggers and the client commands.
import { CLIENT_COMMANDS, RESTART_COMMAND, SHOW_LOG_COMMAND } from "./commands";
import { Daemon } from "./daemon";
import { activateNotebooks } from "./notebook/activate";
import { PipelineOutput } from "./pipelines";
import { onActiveInterpreterChanged } from "./python";
import { DebouncedRestart, RESTART_DEBOUNCE_MS, watchRestartTriggers } from "./restart";
import { StatusBar } from "./statusbar";
import { registerViews } from "./views";
import { createOutputChannel, registerCommand } from "./vscodeapi";
import { Webviews } from "./webviews/panels";
import { showInWebview } from "./webviews/results";
import type { ExtensionContext } from "./vscodeapi";

let shutdown: (() => Promise<void>) | undefined;

export function activate(context: ExtensionContext): void {
  const channel = createOutputChannel("expenv");
  // No file watcher here: the daemon registers its own (expenv.toml, the Feast repo, ...) and
  // reloads in place, so an edited config never costs a restart.
  const pipelineChannel = createOutputChannel("expenv pipelines");
  const daemon = new Daemon(channel, new PipelineOutput(pipelineChannel));
  const restarts = new DebouncedRestart(() => daemon.restart(), RESTART_DEBOUNCE_MS, (line) =>
    channel.appendLine(line),
  );
  const notebooks = activateNotebooks(daemon);
  const webviews = new Webviews(context.extensionUri, daemon);
  daemon.showResult = (command, result) => showInWebview(webviews, command, result);
  const handlers: Record<string, (...args: unknown[]) => unknown> = {
    [RESTART_COMMAND]: () => restarts.now(),
    [SHOW_LOG_COMMAND]: () => daemon.showLog(),
    ...notebooks.handlers,
  };
  context.subscriptions.push(
    channel,
    pipelineChannel,
    ...notebooks.disposables,
    ...CLIENT_COMMANDS.map((id) => registerCommand(id, handlers[id])),
    ...watchRestartTriggers(restarts),
    // Before the first start: the daemon registers a client handler for each notification they hear.
    ...registerViews(daemon, webviews).disposables,
    webviews,
    new StatusBar(daemon),
  );
  // Not awaited: activating the Python extension can take seconds and must not delay ours.
  void onActiveInterpreterChanged(() => restarts.trigger("Python interpreter changed")).then((watch) => {
    if (watch) {
      context.subscriptions.push(watch);
    }
  });
  shutdown = async () => {
    await restarts.dispose();
    await daemon.stop();
  };
  void restarts.now();
}

export async function deactivate(): Promise<void> {
  await shutdown?.();
  shutdown = undefined;
}
