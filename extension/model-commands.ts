import * as vscode from 'vscode';
import type { Logger } from './emitter.js';
import { readEditorModel } from './lm-models.js';
import {
  applyChoice,
  chooseModel,
  choiceForKeyAlone,
  type ChoiceWriter,
  type ModelChoice,
  type ModelSources,
  type PickerUi,
} from './model-picker.js';
import { errorMessage } from './runtime-connection.js';
import { readSettings, SECRET_API_KEY } from './settings.js';

/** SecretStorage key of the key set aside for `origin` (ModelChoice.setAsideFor). */
const asideKey = (origin: string) => `${SECRET_API_KEY}@${origin}`;

/** globalState key: the user dismissed the first-run offer, so the panel stops making it. */
const DISMISSED = 'cog.chooseModelDismissed';

/** The picker's UI in VS Code: quick picks, input boxes, a cancellable progress note. */
export const vscodePickerUi: PickerUi = {
  async pick(title, placeHolder, items) {
    const picked = await vscode.window.showQuickPick(items, {
      title,
      placeHolder,
      matchOnDescription: true,
      matchOnDetail: true,
      ignoreFocusOut: true,
    });
    return picked?.value;
  },
  input: (opts) =>
    Promise.resolve(
      vscode.window.showInputBox({
        title: opts.title,
        prompt: opts.prompt,
        ...(opts.value !== undefined ? { value: opts.value } : {}),
        password: opts.password === true,
        ignoreFocusOut: true,
        ...(opts.validate ? { validateInput: (v: string) => opts.validate?.(v) } : {}),
      }),
    ),
  busy: (title, work) =>
    Promise.resolve(
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title, cancellable: true },
        (_progress, token) => {
          const stop = new AbortController();
          token.onCancellationRequested(() => stop.abort());
          return work(stop.signal);
        },
      ),
    ),
  error: (message) => void vscode.window.showErrorMessage(`Cog: ${message}`),
};

/**
 * Writes to the user's settings (never a workspace's: cog.baseUrl and cog.model decide where
 * the key goes) and the key to SecretStorage.
 */
function writerFor(context: vscode.ExtensionContext): ChoiceWriter {
  return {
    storeKey: (key) => Promise.resolve(context.secrets.store(SECRET_API_KEY, key)),
    setKeyAside: async (origin) => {
      const key = await context.secrets.get(SECRET_API_KEY);
      if (key) await context.secrets.store(asideKey(origin), key);
      await context.secrets.delete(SECRET_API_KEY);
    },
    setUserSetting: (key, value) =>
      Promise.resolve(
        vscode.workspace
          .getConfiguration('cog')
          .update(key, value, vscode.ConfigurationTarget.Global),
      ),
  };
}

/** Writes `choice` and says what Cog uses now; the settings change restarts the runtime. */
async function apply(
  context: vscode.ExtensionContext,
  log: Logger,
  choice: ModelChoice,
  why: string,
): Promise<void> {
  await applyChoice(choice, writerFor(context));
  const where = choice.kind === 'editor' ? `VS Code's ${choice.languageModel}` : choice.baseUrl;
  log.info(`${why}: model ${choice.model} at ${where}`);
}

/**
 * A key stored with Cog: Set API Key while no base URL is set: an OpenRouter or OpenAI key
 * selects its service and that service's default model.
 */
export async function useKeyAlone(
  context: vscode.ExtensionContext,
  log: Logger,
  key: string,
): Promise<void> {
  const choice = choiceForKeyAlone(key, readSettings());
  if (!choice) return;
  await apply(context, log, choice, `the key is ${choice.label}'s`);
  void vscode.window.showInformationMessage(
    `Cog: that is ${/^[AEIOU]/.test(choice.label) ? 'an' : 'a'} ${choice.label} key, so Cog now uses ${choice.label} with ${choice.model}. Cog: Choose a Model picks another.`,
  );
}

/** The first-run offer in the panel, for ChatControllerOptions.setup. */
export function firstRunSetup(context: vscode.ExtensionContext) {
  return {
    offered: () => {
      const s = readSettings();
      return (
        !s.baseUrl &&
        !s.serverUrl &&
        !readEditorModel() &&
        !context.globalState.get<boolean>(DISMISSED)
      );
    },
    choose: () => void vscode.commands.executeCommand('cog.chooseModel'),
    dismiss: () => Promise.resolve(context.globalState.update(DISMISSED, true)),
  };
}

export interface ModelCommandDeps {
  context: vscode.ExtensionContext;
  log: Logger;
  sources: ModelSources;
  /** Re-sends the panel's first-run offer (ChatController.refreshSetup). */
  refreshSetup(): void;
}

/** Registers Cog: Choose a Model, and keeps the panel's offer in step with the settings. */
export function registerModelCommands(deps: ModelCommandDeps): vscode.Disposable[] {
  const { context, log, sources } = deps;
  return [
    vscode.commands.registerCommand('cog.chooseModel', async () => {
      try {
        const choice = await chooseModel({
          ui: vscodePickerUi,
          storedKey: () => Promise.resolve(context.secrets.get(SECRET_API_KEY)),
          keySetAsideFor: (origin) => Promise.resolve(context.secrets.get(asideKey(origin))),
          current: () => readSettings(),
          extraSources: () => sources.list(),
        });
        if (!choice) return;
        await apply(context, log, choice, 'chosen with Cog: Choose a Model');
        const aside =
          choice.kind !== 'editor' && choice.setAsideFor
            ? ` Your key for ${new URL(choice.setAsideFor).host} is kept, and not sent to ${choice.label}; choosing it again brings it back.`
            : '';
        void vscode.window.showInformationMessage(
          `Cog now uses ${choice.model} (${choice.label}).${aside}`,
        );
      } catch (err) {
        const message = errorMessage(err);
        log.warn(`cog.chooseModel: ${message}`);
        void vscode.window.showErrorMessage(`Cog: ${message}`);
      }
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('cog')) deps.refreshSetup();
    }),
  ];
}
