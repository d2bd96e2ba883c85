// Pipeline runs in the editor: the daemon streams each step's log lines as `expenv/pipelineLog`
// notifications {run, step, line} and a run's end as `expenv/pipelineStatus`; they go to an
// "expenv pipelines" output channel, and the final status offers the MLflow run.
import { openExternal, showErrorMessage, showInformationMessage } from "./vscodeapi";
import type { OutputChannel } from "./vscodeapi";

export const LOG_NOTIFICATION = "expenv/pipelineLog";
export const STATUS_NOTIFICATION = "expenv/pipelineStatus";
export const OPEN_MLFLOW = "Open MLflow run";

export interface PipelineLogLine {
  run: string;
  step: string;
  line: string;
}

export interface PipelineStatus {
  run: string;
  status: string;
  mlflow_run_id?: string | null;
  mlflow_url?: string | null;
  detail?: string;
}

export class PipelineOutput {
  private readonly shown = new Set<string>();

  constructor(private readonly channel: OutputChannel) {}

  /** Appends a step's log line; the channel comes forward on a run's first line. */
  readonly onLog = (params: PipelineLogLine): void => {
    this.channel.appendLine(`[${params.run} ${params.step}] ${params.line}`);
    if (!this.shown.has(params.run)) {
      this.shown.add(params.run);
      this.channel.show(true);
    }
  };

  /** A run's end: one line in the channel and a notification linking the MLflow run. */
  readonly onStatus = async (params: PipelineStatus): Promise<void> => {
    const url = params.mlflow_url ?? undefined;
    const where = url ? ` — MLflow: ${url}` : "";
    this.channel.appendLine(`[${params.run}] ${params.status}${params.detail ? `: ${params.detail}` : ""}${where}`);
    const message = `expenv: pipeline run ${params.run} ${params.status}`;
    const items = url ? [OPEN_MLFLOW] : [];
    const choice =
      params.status === "FINISHED"
        ? await showInformationMessage(message, ...items)
        : await showErrorMessage(`${message}${params.detail ? `: ${params.detail}` : ""}`, ...items);
    if (choice === OPEN_MLFLOW && url) {
      await openExternal(url);
    }
  };
}
