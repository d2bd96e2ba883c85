// When to restart the daemon: only when what launches it changes (the interpreter, or the
// expenv.pythonPath / expenv.serverArgs settings) or it dies. A config file edit is not a reason:
// the daemon watches its own files and reloads in place. Switching interpreters often fires several
// events in a burst; each restart costs a Python start-up, so a burst becomes one restart, and a
// restart never overlaps the previous one (two daemons would fight over the same workspace).
import { RESTART_SETTINGS } from "./settings";
import { onDidChangeConfiguration } from "./vscodeapi";
import type { Disposable } from "./vscodeapi";

export const RESTART_DEBOUNCE_MS = 500;
export const MAX_AUTOMATIC_RESTARTS = 3;

export class DebouncedRestart {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private disposed = false;

  constructor(
    private readonly restart: () => Promise<void>,
    private readonly delayMs: number = RESTART_DEBOUNCE_MS,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Schedules a restart; triggers less than delayMs apart coalesce into one. */
  trigger(reason: string): void {
    if (this.disposed) {
      return;
    }
    this.log(`expenv: restart requested (${reason})`);
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.now();
    }, this.delayMs);
  }

  /** Restarts once the restart in flight (if any) is done; callers arriving meanwhile share one. */
  now(): Promise<void> {
    if (this.timer !== undefined) {
      // This restart covers whatever the pending trigger asked for.
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.disposed) {
      return Promise.resolve();
    }
    if (this.queued) {
      return this.queued;
    }
    if (!this.running) {
      return this.run();
    }
    const queued = this.running.then(() => {
      this.queued = undefined;
      return this.run();
    });
    this.queued = queued;
    return queued;
  }

  /** Stops scheduling and waits for a restart in flight, so deactivate can stop what it started. */
  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    await this.queued;
    await this.running;
  }

  private run(): Promise<void> {
    if (this.disposed) {
      return Promise.resolve();
    }
    const run = (async () => {
      try {
        await this.restart();
      } catch (err) {
        this.log(`expenv: restart failed: ${String(err)}`);
      }
    })();
    this.running = run;
    // Registered before any queued continuation, so `running` is cleared before the next run.
    void run.then(() => {
      if (this.running === run) {
        this.running = undefined;
      }
    });
    return run;
  }
}

/** Wires the restart triggers that do not need the Python extension: the launch settings. */
export function watchRestartTriggers(restart: DebouncedRestart): Disposable[] {
  return [
    onDidChangeConfiguration((event) => {
      const changed = RESTART_SETTINGS.filter((setting) => event.affectsConfiguration(setting));
      if (changed.length > 0) {
        restart.trigger(`${changed.join(", ")} changed`);
      }
    }),
  ];
}

/** Counts unexpected daemon exits so a daemon that keeps crashing is not restarted forever. */
export class CrashBudget {
  private restarts = 0;

  constructor(readonly max: number = MAX_AUTOMATIC_RESTARTS) {}

  /** Records an exit; true if one more automatic restart is allowed. */
  spend(): boolean {
    if (this.restarts >= this.max) {
      return false;
    }
    this.restarts += 1;
    return true;
  }

  get used(): number {
    return this.restarts;
  }
}
