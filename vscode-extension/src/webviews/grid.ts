// The data grid and profile webviews' extension side: pages of `expenv.data.preview`
// (limit/offset) with the column types of `expenv.data.schema`, or `expenv.data.profile`.
import type { DaemonLink } from "../daemonevents";
import type { Disposable, Webview } from "../vscodeapi";
import { errorMessage } from "../views/tree";
import { PAGE_SIZE, parseGridRequest } from "./protocol";
import type { GridColumn, GridRequest, GridUpdate } from "./protocol";

interface Preview {
  columns: string[];
  rows: unknown[][];
  offset?: number;
}

interface Schema {
  columns: GridColumn[];
  row_count?: number | null;
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
        const profile = await this.daemon.execute<unknown>("expenv.data.profile", { dataset: this.dataset });
        await this.post({ type: "profile", dataset: this.dataset, profile });
      } else {
        await this.post(await this.page(request.type === "page" ? request.offset : 0));
      }
    } catch (err) {
      await this.post({ type: "error", message: errorMessage(err) });
    }
  }

  private async page(offset: number): Promise<GridUpdate> {
    this.schema ??= this.daemon.execute<Schema>("expenv.data.schema", { dataset: this.dataset });
    const [preview, schema] = await Promise.all([
      this.daemon.execute<Preview>("expenv.data.preview", { dataset: this.dataset, limit: PAGE_SIZE, offset }),
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
    };
  }

  private async post(update: GridUpdate): Promise<void> {
    await this.webview.postMessage(update);
  }

  dispose(): void {
    this.listening.dispose();
  }
}
