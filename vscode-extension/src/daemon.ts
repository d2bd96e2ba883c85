// The one running daemon: a LanguageClient plus what to do when it stops unexpectedly.
import { CloseAction, ErrorAction, LanguageClient, State } from "vscode-languageclient/node";
import type { ErrorHandler } from "vscode-languageclient/node";
import { RESTART_COMMAND } from "./commands";
import { LOG_NOTIFICATION, PipelineOutput, STATUS_NOTIFICATION } from "./pipelines";
import type { PipelineLogLine, PipelineStatus } from "./pipelines";
import { preflight, showPreflightFailure, SHOW_LOG } from "./preflight";
import { findInterpreter } from "./python";
import { CrashBudget } from "./restart";
import { showCommandResult } from "./results";
import { DaemonEvents } from "./daemonevents";
import type { DaemonLink } from "./daemonevents";
import { CLIENT_ID, clientOptions, serverOptions } from "./server";
import { daemonSettings, readSettings } from "./settings";
import { executeCommand, getWorkspaceFolders, showErrorMessage, showWarningMessage } from "./vscodeapi";
import type { OutputChannel } from "./vscodeapi";

const RESTART = "Restart";

export class Daemon implements DaemonLink {
  private client: LanguageClient | undefined;
  /** Notifications and state for the views and the status bar (src/views, src/statusbar.ts). */
  readonly events = new DaemonEvents();
  // Commands sent before the first start wait for it (a notebook may run a cell during activation).
  private markStarted: () => void = () => undefined;
  private started = new Promise<void>((resolve) => {
    this.markStarted = resolve;
  });

  constructor(
    private readonly channel: OutputChannel,
    private readonly pipelines?: PipelineOutput,
  ) {
    if (pipelines) {
      this.events.on(LOG_NOTIFICATION, (params: PipelineLogLine) => pipelines.onLog(params));
      this.events.on(STATUS_NOTIFICATION, (params: PipelineStatus) => void pipelines.onStatus(params));
    }
  }

  /** Runs a daemon command without the palette's prompts and result toast (views call this). */
  async execute<T>(command: string, options: Record<string, unknown> = {}): Promise<T> {
    await this.started;
    const client = this.client;
    if (!client || client.state !== State.Running) {
      throw new Error("the expenv daemon is not running");
    }
    return client.sendRequest<T>("workspace/executeCommand", { command, arguments: [options] });
  }

  readonly showLog = (): void => this.channel.show(true);

  /** Shows a palette command's result somewhere better than a toast (a webview); true when it did. */
  showResult: (command: string, result: unknown) => boolean = () => false;

  private readonly log = (line: string): void => this.channel.appendLine(line);

  /** Stops the current daemon, finds the interpreter again, checks it and starts a new daemon. */
  restart(): Promise<void> {
    this.started = this.start().finally(this.markStarted);
    return this.started;
  }

  private async start(): Promise<void> {
    await this.stop();
    this.events.setState("starting");
    const settings = readSettings();
    const folder = getWorkspaceFolders()?.[0];
    const cwd = folder?.uri.fsPath;
    const interpreter = await findInterpreter(settings.pythonPath, folder, this.log);
    this.log(`expenv: using ${interpreter.path} (from ${interpreter.source})`);
    const problem = await preflight(interpreter.path, cwd);
    if (problem) {
      this.log(problem);
      this.events.setState("error", problem);
      void showPreflightFailure(problem, this.showLog);
      return;
    }
    const budget = new CrashBudget();
    const client: LanguageClient = new LanguageClient(
      CLIENT_ID,
      "expenv",
      serverOptions(interpreter.path, settings.serverArgs, cwd),
      clientOptions({
        channel: this.channel,
        errorHandler: this.errorHandler(() => client, budget),
        onCommandResult: (command, result) =>
          showCommandResult(command, result, this.channel, this.showLog, this.showResult(command, result)),
        settings: daemonSettings,
      }),
    );
    this.client = client;
    for (const method of this.events.methods()) {
      client.onNotification(method, (params: unknown) => this.events.emit(method, params));
    }
    client.onDidChangeState((change) => {
      if (this.client !== client) {
        return; // a daemon being stopped for a restart
      }
      if (change.newState === State.Running) {
        this.events.setState("ready");
      } else if (change.newState === State.Starting) {
        this.events.setState("starting");
      } else {
        this.events.setState("error", "the daemon stopped");
      }
    });
    try {
      await client.start();
    } catch (err) {
      // The client has already shown its own error with a "Go to output" button; a second
      // notification for the same failure would only add noise.
      this.log(`expenv: the daemon failed to start: ${String(err)}`);
      this.events.setState("error", String(err));
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.events.setState("stopped");
    if (!client) {
      return;
    }
    try {
      if (client.state === State.Starting) {
        // A client cannot be stopped while starting (e.g. during its own crash restart);
        // waiting avoids leaving that daemon process running behind the new one.
        await client.start().catch(() => undefined);
      }
      await client.dispose(2000);
    } catch (err) {
      this.log(`expenv: stopping the daemon: ${String(err)}`);
    }
  }

  private errorHandler(getClient: () => LanguageClient, budget: CrashBudget): ErrorHandler {
    return {
      error: (_error, _message, count) => ({
        action: (count ?? 0) <= budget.max ? ErrorAction.Continue : ErrorAction.Shutdown,
      }),
      closed: () => {
        if (getClient().state !== State.Running) {
          // Died during start-up: the rejected start() reports it; restarting would loop.
          return { action: CloseAction.DoNotRestart, handled: true };
        }
        if (budget.spend()) {
          const message = `expenv: the daemon exited; restarting it (${budget.used} of ${budget.max}).`;
          this.log(message);
          void this.notify(showWarningMessage(message, SHOW_LOG));
          return { action: CloseAction.Restart, handled: true };
        }
        const message =
          `expenv: the daemon exited ${budget.max + 1} times and will not be restarted automatically. ` +
          `See the log, then run "expenv: Restart daemon".`;
        this.log(message);
        void this.notify(showErrorMessage(message, SHOW_LOG, RESTART));
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    };
  }

  private async notify(choice: Thenable<string | undefined>): Promise<void> {
    const picked = await choice;
    if (picked === SHOW_LOG) {
      this.showLog();
    } else if (picked === RESTART) {
      await executeCommand(RESTART_COMMAND);
    }
  }
}
