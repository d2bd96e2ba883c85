// Palette runs of daemon commands carry no arguments; ask for the ones a command needs, with
// quick picks filled from the daemon (`ask` runs a daemon command: the middleware's `next`).
import { DATASET_COMMANDS } from "./commands";
import { askNewProject } from "./newproject";
import {
  askCiEvent,
  askWorkers,
  pickCluster,
  pickDataset,
  pickMlflowRuns,
  pickPipelineAndTarget,
  pickProfile,
  pickRun,
  pickTarget,
} from "./picks";
import type { Ask } from "./picks";
import type { PipelineListing } from "./views/pipelines";
import { showInputBox } from "./vscodeapi";
import { PAGE_SIZE } from "./webviews/protocol";

type Options = Record<string, unknown>;
type Prompt = (ask: Ask) => Promise<Options | undefined>;

const keyed = (key: string, value: string | undefined): Options | undefined =>
  value === undefined ? undefined : { [key]: value };

const byRun: Prompt = async (ask) => keyed("run", await pickRun(ask));
const byDataset: Prompt = async (ask) => keyed("dataset", await pickDataset(ask));
const byProfile: Prompt = async (ask) => keyed("profile", await pickProfile(ask));
const byCluster: Prompt = async (ask) => keyed("id", await pickCluster(ask));

const PROMPTS: Record<string, Prompt> = {
  ...Object.fromEntries(
    ["expenv.pipelines.status", "expenv.pipelines.logs", "expenv.pipelines.rerun"].map((command) => [command, byRun]),
  ),
  "expenv.pipelines.cancel": async (ask) => keyed("run", await pickRun(ask, ["PENDING", "RUNNING"])),
  "expenv.pipelines.submit": (ask) => pickPipelineAndTarget(ask),
  "expenv.pipelines.render": (ask) => pickPipelineAndTarget(ask),
  "expenv.pipelines.runNotebook": async (ask) => {
    const notebook = await showInputBox({ title: "Notebook", prompt: "Notebook (workspace path)",
      placeHolder: "notebooks/prepare.ipynb", ignoreFocusOut: true });
    if (!notebook?.trim()) {
      return undefined;
    }
    const target = await pickTarget((await ask("expenv.pipelines.list")) as PipelineListing);
    return target === undefined ? undefined : { notebook: notebook.trim(), target };
  },
  ...Object.fromEntries(DATASET_COMMANDS.map((command) => [command, byDataset])),
  // one grid page: the grid that opens on the answer shows it as its first page (src/webviews/results.ts)
  "expenv.data.preview": async (ask) => {
    const options = await byDataset(ask);
    return options && { ...options, limit: PAGE_SIZE };
  },
  "expenv.clusters.launch": byProfile,
  "expenv.clusters.render": byProfile,
  "expenv.clusters.stop": byCluster,
  "expenv.clusters.attach": async (ask) => keyed("target", await pickCluster(ask)),
  "expenv.clusters.scale": async (ask) => {
    const id = await pickCluster(ask);
    const workers = id === undefined ? undefined : await askWorkers();
    return id === undefined || workers === undefined ? undefined : { id, workers };
  },
  "expenv.project.new": (ask) => askNewProject(ask),
  "expenv.ci.plan": () => askCiEvent(),
  "expenv.tracking.open": async (ask) => {
    const ids = await pickMlflowRuns(ask, false);
    return ids ? { run_id: ids[0] } : undefined;
  },
  "expenv.tracking.compare": async (ask) => {
    const ids = await pickMlflowRuns(ask, true);
    return ids ? { run_ids: ids } : undefined;
  },
};

/** Commands whose palette entry asks for input. */
export const PROMPTED_COMMANDS: readonly string[] = Object.keys(PROMPTS);

/** The arguments to send: unchanged when given, asked for when needed, undefined when dismissed. */
export async function completeArguments(command: string, args: unknown[], ask: Ask): Promise<unknown[] | undefined> {
  const prompt = PROMPTS[command];
  if (args.length > 0 || prompt === undefined) {
    return args;
  }
  const options = await prompt(ask);
  return options === undefined ? undefined : [options];
}
