import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLIENT_COMMAND_PREFIX, CLIENT_COMMANDS, DAEMON_COMMANDS, VIEW_COMMANDS } from "../src/commands";

interface Manifest {
  contributes: { commands: { command: string; title: string; category?: string }[] };
}

const manifest = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")) as Manifest;
const contributed = manifest.contributes.commands.map((c) => c.command);

describe("contributed commands", () => {
  it("are exactly the daemon commands plus the client commands", () => {
    expect([...contributed].sort()).toEqual([...DAEMON_COMMANDS, ...CLIENT_COMMANDS, ...VIEW_COMMANDS].sort());
    expect(new Set(contributed).size).toBe(contributed.length);
  });

  it("follow the naming convention the vsix check relies on", () => {
    for (const id of [...CLIENT_COMMANDS, ...VIEW_COMMANDS]) {
      expect(id.startsWith(CLIENT_COMMAND_PREFIX)).toBe(true);
    }
    for (const id of DAEMON_COMMANDS) {
      expect(id.startsWith("expenv.")).toBe(true);
      expect(id.startsWith(CLIENT_COMMAND_PREFIX)).toBe(false);
    }
  });

  it("all sit under the palette category expenv, so they show as 'expenv: <title>'", () => {
    for (const command of manifest.contributes.commands) {
      expect(command.category).toBe("expenv");
      expect(`${command.category}: ${command.title}`).toMatch(/^expenv: \S/);
      expect(command.title).not.toMatch(/^expenv:/); // no "expenv: expenv: ..."
    }
  });
});
