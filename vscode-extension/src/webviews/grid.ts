// The data grid and profile webviews' extension side: pages of `expenv.data.preview`
// (limit/offset) with the column types of `expenv.data.schema`, or `expenv.data.profile`.
import type { DaemonLink } from "../daemonevents";
import type { Disposable, Webview } from "../vscodeapi";
import { errorMessage } from "../views/tree";
import { PAGE_SIZE, parseGridRequest } from "./protocol";
import type { GridColumn, GridRequest, GridSort, GridUpdate } from "./protocol";

interface Preview {
  columns: string[];
  rows: unknown[][];
  offset?: number;
  order?: GridSort | null;
}

interface Schema {
  columns: GridColumn[];
  row_count?: number | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isFirstPage(value: unknown): value is Preview {
  const preview = value as Partial<Preview> & { limit?: unknown };
  return isObject(value) && Array.isArray(preview.columns) && Array.isArray(preview.rows) &&
    (preview.offset ?? 0) === 0 && preview.limit === PAGE_SIZE && (preview.order ?? null) === null;
}

export class DataGrid implements Disposable {
  private schema: Promise<Schema> | undefined;
  private readonly listening: Disposable;

  constructor(
    private readonly webview: Webview,
    private readonly daemon: DaemonLink,
    private readonly dataset: string,
    private readonly mode: "grid" | "profile",
    private readonly openProfile: (dataset: string) => void,
    private first?: unknown,   // the daemon's answer a palette run already has: the first content shown
  ) {
    this.listening = webview.onDidReceiveMessage((raw: unknown) => {
      const request = parseGridRequest(raw);
      if (request) {
        void this.handle(request);
      }
    });
  }

  /** Answers one checked request; every failure goes back to the page as an error to show. */
  async handle(request: GridRequest): Promise<void> {
    try {
      if (request.type === "profile") {
        this.openProfile(this.dataset);
      } else if (this.mode === "profile") {
        const profile = this.takeFirst(isObject) ??
          await this.daemon.execute<unknown>("expenv.data.profile", { dataset: this.dataset });
        await this.post({ type: "profile", dataset: this.dataset, profile });
      } else {
        await this.post(await this.page(request.type === "page" ? request.offset : 0,
          request.type === "page" ? request.sort : undefined));
      }
    } catch (err) {
      await this.post({ type: "error", message: errorMessage(err) });
    }
  }

  private async page(offset: number, sort?: GridSort): Promise<GridUpdate> {
    this.schema ??= this.daemon.execute<Schema>("expenv.data.schema", { dataset: this.dataset });
    // a palette preview is this page only when it is page one of this size (else rows would be skipped)
    const first = offset === 0 && !sort ? this.takeFirst(isFirstPage) : undefined;
    const options = { dataset: this.dataset, limit: PAGE_SIZE, offset, ...(sort ? { sort } : {}) };
    const [preview, schema] = await Promise.all([
      first ?? this.daemon.execute<Preview>("expenv.data.preview", options),
      this.schema,
    ]);
    const types = new Map(schema.columns.map((c) => [c.name, c.type]));
    return {
      type: "page",
      dataset: this.dataset,
      columns: preview.columns.map((name) => ({ name, type: types.get(name) ?? "" })),
      rows: preview.rows,
      offset: preview.offset ?? offset,
      limit: PAGE_SIZE,
      rowCount: typeof schema.row_count === "number" ? schema.row_count : null,
      sort: preview.order ?? null,   // what the daemon sorted by, not what was asked
    };
  }

  /** The palette's answer, once, when it is what this request would fetch. */
  private takeFirst<T>(fits: (value: unknown) => value is T): T | undefined {
    const first = this.first;
    this.first = undefined;
    return fits(first) ? first : undefined;
  }

  private async post(update: GridUpdate): Promise<void> {
    await this.webview.postMessage(update);
  }

  dispose(): void {
    this.listening.dispose();
  }
}
