// Command ids, in one place. Convention: `expenv.client.*` commands are registered by this
// extension; every other `expenv.*` command is served by the daemon through
// workspace/executeCommand, and vscode-languageclient registers it from the server's
// executeCommandProvider (registering it here too would make VS Code refuse the duplicate).

/** Commands the daemon serves; package.json contributes them so they appear in the palette. */
export const DAEMON_COMMANDS: readonly string[] = [
  "expenv.status",
  "expenv.data.list",
  "expenv.data.schema",
  "expenv.data.preview",
  "expenv.data.profile",
  "expenv.tracking.runs",
  "expenv.tracking.compare",
  "expenv.tracking.open",
  "expenv.features.lineage",
  "expenv.features.apply",
  "expenv.environment.parity",
  "expenv.environment.kernels",
  "expenv.pipelines.list",
  "expenv.pipelines.submit",
  "expenv.pipelines.runNotebook",
  "expenv.pipelines.status",
  "expenv.pipelines.logs",
  "expenv.pipelines.cancel",
  "expenv.pipelines.rerun",
  "expenv.pipelines.render",
  "expenv.clusters.launch",
  "expenv.clusters.list",
  "expenv.clusters.scale",
  "expenv.clusters.stop",
  "expenv.clusters.render",
  "expenv.clusters.attach",
  "expenv.clusters.runOnProfile",
  "expenv.kernels.execute",
  "expenv.kernels.interrupt",
  "expenv.kernels.restart",
  "expenv.kernels.shutdown",
  "expenv.project.new",
  "expenv.project.questions",
  "expenv.ci.plan",
];

/** Daemon commands that need {"dataset": ...}: asked for when run from the palette without one. */
export const DATASET_COMMANDS: readonly string[] = [
  "expenv.data.schema",
  "expenv.data.preview",
  "expenv.data.profile",
];

export const RESTART_COMMAND = "expenv.client.restart";
export const SHOW_LOG_COMMAND = "expenv.client.showLog";

// The notebook toolbar's commands (src/notebook/toolbar.ts)
export const RUN_AS_PIPELINE = "expenv.client.notebookRunAsPipeline";
export const ATTACH_CLUSTER = "expenv.client.notebookAttachCluster";
export const CHECK_PARITY = "expenv.client.notebookCheckParity";
export const RESTART_KERNEL = "expenv.client.notebookRestartKernel";
export const NOTEBOOK_COMMANDS: readonly string[] = [RUN_AS_PIPELINE, ATTACH_CLUSTER, CHECK_PARITY, RESTART_KERNEL];

/** Commands this extension registers itself. */
export const CLIENT_COMMANDS: readonly string[] = [RESTART_COMMAND, SHOW_LOG_COMMAND, ...NOTEBOOK_COMMANDS];

export const CLIENT_COMMAND_PREFIX = "expenv.client.";

/** Actions of the expenv views (src/views/actions.ts), registered by this extension too. */
export const VIEW_COMMANDS: readonly string[] = [
  "expenv.client.view.refresh",
  "expenv.client.view.data.preview",
  "expenv.client.view.data.profile",
  "expenv.client.view.data.copySnippet",
  "expenv.client.view.features.lineage",
  "expenv.client.view.features.definition",
  "expenv.client.view.clusters.launch",
  "expenv.client.view.clusters.dashboard",
  "expenv.client.view.clusters.attach",
  "expenv.client.view.clusters.scale",
  "expenv.client.view.clusters.stop",
  "expenv.client.view.pipelines.submit",
  "expenv.client.view.pipelines.logs",
  "expenv.client.view.pipelines.cancel",
  "expenv.client.view.pipelines.rerun",
  "expenv.client.view.pipelines.mlflow",
];
