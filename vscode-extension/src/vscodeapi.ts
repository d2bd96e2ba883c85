// Every vscode API the extension calls goes through here, so unit tests mock this one module
// (vi.mock("../src/vscodeapi")) instead of needing a running VS Code.
import * as vscode from "vscode";

export type {
  ConfigurationChangeEvent,
  Disposable,
  Event,
  Extension,
  ExtensionContext,
  OutputChannel,
  Uri,
  WorkspaceConfiguration,
  WorkspaceFolder,
} from "vscode";

export function getConfiguration(section: string, scope?: vscode.ConfigurationScope): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(section, scope);
}

export function getWorkspaceFolders(): readonly vscode.WorkspaceFolder[] | undefined {
  return vscode.workspace.workspaceFolders;
}

export function onDidChangeConfiguration(
  listener: (e: vscode.ConfigurationChangeEvent) => unknown,
): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration(listener);
}

export function createOutputChannel(name: string): vscode.OutputChannel {
  return vscode.window.createOutputChannel(name);
}

export function showErrorMessage(message: string, ...items: string[]): Thenable<string | undefined> {
  return vscode.window.showErrorMessage(message, ...items);
}

export function showWarningMessage(message: string, ...items: string[]): Thenable<string | undefined> {
  return vscode.window.showWarningMessage(message, ...items);
}

export function showInformationMessage(message: string, ...items: string[]): Thenable<string | undefined> {
  return vscode.window.showInformationMessage(message, ...items);
}

export function showInputBox(options: vscode.InputBoxOptions): Thenable<string | undefined> {
  return vscode.window.showInputBox(options);
}

export function getExtension<T>(id: string): vscode.Extension<T> | undefined {
  return vscode.extensions.getExtension<T>(id);
}

export function registerCommand(id: string, callback: (...args: unknown[]) => unknown): vscode.Disposable {
  return vscode.commands.registerCommand(id, callback);
}

export function executeCommand<T>(id: string, ...args: unknown[]): Thenable<T> {
  return vscode.commands.executeCommand<T>(id, ...args);
}

/** Opens the Settings UI filtered to one setting. */
export function openSetting(id: string): Thenable<unknown> {
  return vscode.commands.executeCommand("workbench.action.openSettings", id);
}

export function openExternal(url: string): Thenable<boolean> {
  return vscode.env.openExternal(vscode.Uri.parse(url));
}

// --- notebooks (src/notebook/*) ---------------------------------------------------------------
export type {
  NotebookCell,
  NotebookCellExecution,
  NotebookCellOutput,
  NotebookController,
  NotebookDocument,
} from "vscode";

/** One output item as plain data: what the notebook code builds, turned into vscode objects here. */
export interface OutputItemData {
  mime: string;
  data: Uint8Array;
}

export function createNotebookController(
  id: string,
  notebookType: string,
  label: string,
  handler: (cells: vscode.NotebookCell[], notebook: vscode.NotebookDocument, c: vscode.NotebookController) => Thenable<void> | void,
): vscode.NotebookController {
  return vscode.notebooks.createNotebookController(id, notebookType, label, handler);
}

export function cellOutput(items: readonly OutputItemData[], metadata?: Record<string, unknown>): vscode.NotebookCellOutput {
  return new vscode.NotebookCellOutput(items.map((i) => new vscode.NotebookCellOutputItem(i.data, i.mime)), metadata);
}

export function cellOutputItem(item: OutputItemData): vscode.NotebookCellOutputItem {
  return new vscode.NotebookCellOutputItem(item.data, item.mime);
}

export const PREFERRED_AFFINITY = 2; // vscode.NotebookControllerAffinity.Preferred

export function getNotebookDocuments(): readonly vscode.NotebookDocument[] {
  return vscode.workspace.notebookDocuments;
}

export function onDidOpenNotebookDocument(listener: (notebook: vscode.NotebookDocument) => unknown): vscode.Disposable {
  return vscode.workspace.onDidOpenNotebookDocument(listener);
}

export function getWorkspaceFolder(uri: vscode.Uri): vscode.WorkspaceFolder | undefined {
  return vscode.workspace.getWorkspaceFolder(uri);
}

/** True when `name` exists in the folder `folder` (workspace.fs: works in web and remote hosts too). */
export async function existsIn(folder: vscode.Uri, name: string): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(vscode.Uri.joinPath(folder, name));
    return true;
  } catch {
    return false;
  }
}

export function parentOf(uri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(uri, "..");
}

export function activeNotebook(): vscode.NotebookDocument | undefined {
  return vscode.window.activeNotebookEditor?.notebook;
}

/** Inserts a code cell above the notebook's first cell, or at `index`. */
export async function insertCodeCell(notebook: vscode.NotebookDocument, source: string, index = 0): Promise<boolean> {
  const edit = new vscode.WorkspaceEdit();
  const cell = new vscode.NotebookCellData(vscode.NotebookCellKind.Code, source, "python");
  edit.set(notebook.uri, [vscode.NotebookEdit.insertCells(index, [cell])]);
  return vscode.workspace.applyEdit(edit);
}

// ---- views, status bar and quick picks (src/views, src/statusbar.ts) ----------------------------

export type {
  Event as VsEvent,
  EventEmitter,
  QuickPickItem,
  StatusBarItem,
  TreeDataProvider,
  TreeItem,
  TreeView,
} from "vscode";

export function newEventEmitter<T>(): vscode.EventEmitter<T> {
  return new vscode.EventEmitter<T>();
}

export function themeIcon(id: string, color?: string): vscode.ThemeIcon {
  return new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);
}

export function createTreeView<T>(id: string, provider: vscode.TreeDataProvider<T>): vscode.TreeView<T> {
  return vscode.window.createTreeView(id, { treeDataProvider: provider, showCollapseAll: true });
}

/** A status bar item on the left; a higher priority places it further left. */
export function createStatusBarItem(id: string, priority: number): vscode.StatusBarItem {
  return vscode.window.createStatusBarItem(id, vscode.StatusBarAlignment.Left, priority);
}

export function showQuickPick<T extends vscode.QuickPickItem>(
  items: T[],
  options: vscode.QuickPickOptions,
): Thenable<T | undefined> {
  return vscode.window.showQuickPick(items, options);
}

export function writeClipboard(text: string): Thenable<void> {
  return vscode.env.clipboard.writeText(text);
}

/** Shows `content` in a new untitled editor (read it, save it if wanted). */
export async function showUntitled(content: string, language: string): Promise<void> {
  const doc = await vscode.workspace.openTextDocument({ content, language });
  await vscode.window.showTextDocument(doc, { preview: true });
}

/** Opens a file at a 1-based line. */
export async function openFileAt(path: string, line: number): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path));
  const at = new vscode.Position(Math.max(line - 1, 0), 0);
  await vscode.window.showTextDocument(doc, { selection: new vscode.Range(at, at) });
}

/** Inserts text at the cursor of the active editor; false when no editor is active. */
export async function insertAtCursor(text: string): Promise<boolean> {
  const editor = vscode.window.activeTextEditor;
  return editor ? editor.insertSnippet(new vscode.SnippetString(text.replace(/\$/g, "\\$"))) : false;
}

// ---- webviews (src/webviews) -------------------------------------------------------------------

export type { Webview, WebviewPanel } from "vscode";

/** A webview panel whose scripts may load only files under the extension's media folder. */
export function createWebviewPanel(viewType: string, title: string, extensionUri: vscode.Uri): vscode.WebviewPanel {
  return vscode.window.createWebviewPanel(viewType, title, vscode.ViewColumn.Active, {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, "media")],
  });
}

/** The URI a webview loads the media file `file` from. */
export function mediaUri(webview: vscode.Webview, extensionUri: vscode.Uri, file: string): string {
  return webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, "media", ...file.split("/"))).toString();
}
