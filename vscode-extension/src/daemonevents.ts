// What the views and the status bar hear from the daemon: its notifications (one handler per
// method in the language client, fanned out here to every listener) and the daemon's state.
import type { Disposable } from "./vscodeapi";

export type DaemonState = "starting" | "ready" | "error" | "stopped";

/** `expenv/workspaceChanged` {workspace, what}: the daemon reloaded or changed something views show. */
export const WORKSPACE_CHANGED = "expenv/workspaceChanged";

export interface WorkspaceChange {
  workspace: string;
  what: "config" | "features" | "clusters" | "pipelines" | string;
}

type Listener = (params: unknown) => void;

export class DaemonEvents {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly stateListeners = new Set<(state: DaemonState, detail: string) => void>();
  state: DaemonState = "stopped";
  detail = "";

  on<T>(method: string, listener: (params: T) => void): Disposable {
    const set = this.listeners.get(method) ?? new Set<Listener>();
    this.listeners.set(method, set);
    set.add(listener as Listener);
    return { dispose: () => set.delete(listener as Listener) };
  }

  /** The methods someone listens to, so the daemon registers one client handler each. */
  methods(): string[] {
    return [...this.listeners.keys()];
  }

  emit(method: string, params: unknown): void {
    for (const listener of this.listeners.get(method) ?? []) {
      listener(params);
    }
  }

  onState(listener: (state: DaemonState, detail: string) => void): Disposable {
    this.stateListeners.add(listener);
    return { dispose: () => this.stateListeners.delete(listener) };
  }

  setState(state: DaemonState, detail = ""): void {
    if (state === this.state && detail === this.detail) {
      return;
    }
    this.state = state;
    this.detail = detail;
    for (const listener of this.stateListeners) {
      listener(state, detail);
    }
  }
}

/** What views and prompts need of the daemon: its commands, its events. */
export interface DaemonLink {
  readonly events: DaemonEvents;
  execute<T>(command: string, options?: Record<string, unknown>): Promise<T>;
}
