// `expenv: New ML repository from the template`: the template's questions (from the daemon's
// `expenv.project.questions`) as quick inputs, then `expenv.project.new` {dest, answers}.
import type { Ask } from "./picks";
import { showInputBox, showQuickPick } from "./vscodeapi";

export interface TemplateQuestion {
  name: string;
  help: string;
  default: unknown;
  choices: string[] | null;
}

/** One answer; "" (an empty input) takes the template's default; undefined when dismissed. */
async function answer(q: TemplateQuestion): Promise<string | undefined> {
  if (q.choices && q.choices.length > 0) {
    const picked = await showQuickPick(q.choices.map((c) => ({ label: c })), { title: q.help, placeHolder: q.name,
      ignoreFocusOut: true });
    return picked?.label;
  }
  return showInputBox({ title: q.help, prompt: `${q.name} (empty: the default)`,
    placeHolder: q.default === null || q.default === undefined ? "" : String(q.default), ignoreFocusOut: true });
}

export async function askNewProject(ask: Ask): Promise<Record<string, unknown> | undefined> {
  const dest = await showInputBox({ title: "New ML repository", prompt: "Folder of the new repository (new or empty)",
    placeHolder: "/home/me/churn", ignoreFocusOut: true });
  if (!dest?.trim()) {
    return undefined;
  }
  const { questions } = (await ask("expenv.project.questions")) as { questions: TemplateQuestion[] };
  const answers: Record<string, string> = {};
  for (const q of questions) {
    if (q.name === "preprod_namespace" && answers.preprod_backend === "docker") {
      continue; // asked only for a Kubernetes pre-prod target (copier.yml's `when`)
    }
    const value = await answer(q);
    if (value === undefined) {
      return undefined;
    }
    if (value.trim()) {
      answers[q.name] = value.trim();
    }
  }
  return { dest: dest.trim(), answers };
}
