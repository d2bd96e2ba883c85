// Palette runs of daemon commands carry no arguments; ask for the ones a command needs.
import { DATASET_COMMANDS } from "./commands";
import { showInputBox } from "./vscodeapi";

interface Prompt {
  prompt: string;
  placeHolder: string;
  toArgs: (answer: string) => Record<string, unknown>;
}

const DATASET: Prompt = {
  prompt: "Dataset: a path under a raw root, an s3:// URL, or schema.table",
  placeHolder: "data/raw/customers.parquet",
  toArgs: (answer) => ({ dataset: answer }),
};

const RUN: Prompt = {
  prompt: "Pipeline run id (see expenv: List pipelines and runs)",
  placeHolder: "train-1a2b3c4d",
  toArgs: (answer) => ({ run: answer }),
};

/** "NAME TARGET" answers: a pipeline (or notebook) and the target to run it on. */
function onTarget(key: string, prompt: string, placeHolder: string): Prompt {
  return {
    prompt,
    placeHolder,
    toArgs: (answer) => {
      const [name = "", target = ""] = answer.split(/\s+/);
      return { [key]: name, target };
    },
  };
}

const PROMPTS: Record<string, Prompt> = {
  ...Object.fromEntries(
    ["expenv.pipelines.status", "expenv.pipelines.logs", "expenv.pipelines.cancel", "expenv.pipelines.rerun"].map(
      (command) => [command, RUN],
    ),
  ),
  "expenv.pipelines.submit": onTarget("pipeline", "Pipeline and target", "train dev"),
  "expenv.pipelines.render": onTarget("pipeline", "Pipeline and target", "train preprod"),
  "expenv.pipelines.runNotebook": onTarget("notebook", "Notebook (workspace path) and target",
    "notebooks/prepare.ipynb dev"),
  ...Object.fromEntries(DATASET_COMMANDS.map((command) => [command, DATASET])),
  // "DEST key=value ...": the answers the template's questions take (expenv: List the repository
  // template's questions lists them); unanswered questions take their defaults.
  "expenv.project.new": {
    prompt: "Folder of the new repository, then answers as key=value",
    placeHolder: "/home/me/churn project_name=churn preprod_backend=kubernetes preprod_namespace=ml-preprod",
    toArgs: (answer) => {
      const [dest = "", ...pairs] = answer.split(/\s+/);
      const answers = Object.fromEntries(
        pairs.filter((pair) => pair.includes("=")).map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
      );
      return { dest, answers };
    },
  },
  "expenv.tracking.open": {
    prompt: "MLflow run id",
    placeHolder: "e2baa851f0e04f428a81390f5737c5e3",
    toArgs: (answer) => ({ run_id: answer }),
  },
  "expenv.tracking.compare": {
    prompt: "Two or more MLflow run ids, separated by spaces",
    placeHolder: "e2baa851… 7f3c0d2e…",
    toArgs: (answer) => ({ run_ids: answer.split(/[\s,]+/).filter(Boolean) }),
  },
};

/** The arguments to send: unchanged when given, asked for when needed, undefined when dismissed. */
export async function completeArguments(command: string, args: unknown[]): Promise<unknown[] | undefined> {
  const ask = PROMPTS[command];
  if (args.length > 0 || ask === undefined) {
    return args;
  }
  const answer = await showInputBox({
    title: command,
    prompt: ask.prompt,
    placeHolder: ask.placeHolder,
    ignoreFocusOut: true,
  });
  if (answer === undefined || answer.trim() === "") {
    return undefined;
  }
  return [ask.toArgs(answer.trim())];
}
