import * as vscode from 'vscode';
import { NODE_NAMES } from '../protocol/events.js';
import type { Logger } from './emitter.js';
import type { ExtraModelSource } from './model-picker.js';
import {
  LmBridgeError,
  startLmBridge,
  type LmBackend,
  type LmBridge,
  type LmChatRequest,
  type LmPart,
} from './lm-bridge.js';
import { RuntimeStartError } from './runtime-process.js';

/**
 * The editor's own language models (`vscode.lm`, the user's Copilot models or any other
 * extension's) as Cog's engine: the setting that names one, the choices for a picker, and
 * the backend of the OpenAI-wire bridge (lm-bridge.ts) the runtime talks to.
 */

/** `cog.languageModel`: "vendor/id" of a VS Code language model, or empty. */
export const LANGUAGE_MODEL_SETTING = 'languageModel';

const JUSTIFICATION =
  'Cog sends the messages you type in its chat panel, with its own prompts, to this model.';

/** One choice in a model picker. `value` is what `cog.languageModel` holds. */
export interface EditorModelChoice {
  label: string;
  description: string;
  detail?: string;
  value: string;
}

/** `vscode.LanguageModelChat` as VS Code 1.104 has it (capabilities are newer than @types 1.100). */
type EditorModel = vscode.LanguageModelChat & {
  capabilities?: { supportsToolCalling?: boolean };
};

/** The "vendor/id" VS Code itself uses for a model. */
export function editorModelKey(model: Pick<vscode.LanguageModelChat, 'vendor' | 'id'>): string {
  return `${model.vendor}/${model.id}`;
}

/**
 * The chosen model, from the user's settings only: it decides where your messages go, so a
 * folder's settings cannot pick it (a workspace value is ignored and said so once).
 */
export function readEditorModel(log?: Logger): string {
  const inspected = vscode.workspace
    .getConfiguration('cog')
    .inspect<string>(LANGUAGE_MODEL_SETTING);
  if (inspected?.workspaceValue !== undefined || inspected?.workspaceFolderValue !== undefined) {
    if (!ignoredReported) {
      ignoredReported = true;
      log?.warn(
        `ignored cog.${LANGUAGE_MODEL_SETTING} from this workspace's settings: it decides where your messages go, so Cog takes it from your user settings only`,
      );
    }
  }
  const value = inspected?.globalValue;
  return typeof value === 'string' ? value.trim() : '';
}
let ignoredReported = false;

/** The editor's chat models as picker choices (none where VS Code has none). */
export async function editorModelChoices(): Promise<EditorModelChoice[]> {
  const models = await vscode.lm.selectChatModels();
  return models.map((m) => ({
    label: m.name,
    description: `${m.vendor} · ${m.family}`,
    detail: `VS Code language model "${editorModelKey(m)}", up to ${m.maxInputTokens} input tokens`,
    value: editorModelKey(m),
  }));
}

/**
 * Makes a choice Cog's engine (in the user's settings; the runtime restarts on the change),
 * or with `undefined` goes back to `cog.baseUrl` or the offline engine.
 */
export async function applyEditorModel(value: string | undefined): Promise<void> {
  await vscode.workspace
    .getConfiguration('cog')
    .update(LANGUAGE_MODEL_SETTING, value ?? undefined, vscode.ConfigurationTarget.Global);
}

/** The editor's models in a quick pick; `null` when VS Code has none (and said so), undefined on Escape. */
async function askEditorModel(
  title: string,
  offerStop: boolean,
): Promise<{ value: string | undefined; label: string } | undefined | null> {
  const current = readEditorModel();
  const choices = await editorModelChoices();
  if (!choices.length) {
    void vscode.window.showInformationMessage(
      'Cog: VS Code has no language models to offer. Install or sign in to an extension that provides them (such as GitHub Copilot Chat), then try again.',
    );
    return null;
  }
  type Item = vscode.QuickPickItem & { value: string | undefined };
  const items: Item[] = choices.map((c) => ({
    label: c.label,
    description: c.value === current ? `${c.description} (in use)` : c.description,
    ...(c.detail ? { detail: c.detail } : {}),
    value: c.value,
  }));
  if (current && offerStop) {
    items.push({
      label: 'Stop using a VS Code language model',
      description: 'back to cog.baseUrl or the offline engine',
      value: undefined,
    });
  }
  const picked = await vscode.window.showQuickPick(items, {
    title,
    placeHolder: 'The model Cog answers with',
    matchOnDescription: true,
  });
  return picked && { value: picked.value, label: picked.label };
}

/** "Cog: Use a VS Code Language Model": a quick pick of the editor's models. */
export async function pickEditorModel(): Promise<void> {
  const picked = await askEditorModel('Cog: Use a VS Code Language Model', true);
  if (picked) await applyEditorModel(picked.value);
}

/**
 * The editor's models as one more entry of Cog: Choose a Model, where VS Code has the
 * language-model API; the picker writes the choice (and stops using cog.baseUrl's model).
 */
export function editorModelSource(): ExtraModelSource | undefined {
  if (typeof vscode.lm?.selectChatModels !== 'function') return undefined;
  return {
    label: "The editor's own language models",
    detail: 'Models VS Code provides (GitHub Copilot and other extensions), used with no key',
    async pick() {
      const picked = await askEditorModel("Cog: Choose a Model: the editor's own", false);
      if (!picked?.value) return undefined;
      return {
        kind: 'editor',
        languageModel: picked.value,
        model: picked.label,
        label: 'a VS Code language model',
      };
    },
  };
}

/**
 * The bridge to the editor's models, started the first time a runtime needs it and kept
 * while the extension runs (its port and token change only with a new window).
 */
export class EditorModelBridge implements vscode.Disposable {
  private bridge: Promise<LmBridge> | undefined;

  constructor(
    private readonly log: Logger,
    /** VS Code refused Cog the model (the user declined its consent dialog). */
    private readonly onRefused: (message: string) => void,
  ) {}

  /**
   * The runtime's environment for the chosen model, changed in place: the bridge's URL and
   * token instead of an endpoint and key, the model for every node, and fenced code blocks
   * for a model that cannot call tools. Returns the token (to mask in logs), or undefined
   * when no VS Code model is chosen.
   */
  async configure(env: NodeJS.ProcessEnv, log: Logger): Promise<string | undefined> {
    const key = readEditorModel(log);
    if (!key) return undefined;
    const model = await findModel(key);
    if (!model) {
      throw new RuntimeStartError(
        `The VS Code language model "${key}" (cog.${LANGUAGE_MODEL_SETTING}) is not available: choose another with "Cog: Use a VS Code Language Model", or sign in to the extension that provides it.`,
        true,
      );
    }
    const bridge = await (this.bridge ??= startLmBridge(this.backend()));
    env.COG_LLM_BASE_URL = bridge.baseUrl;
    env.COG_LLM_API_KEY = bridge.token;
    env.COG_MODEL = key;
    for (const node of NODE_NAMES) Reflect.deleteProperty(env, `COG_MODEL_${node.toUpperCase()}`);
    const tools = model.capabilities?.supportsToolCalling !== false;
    if (!tools) env.COG_TOOLS = 'fenced';
    log.info(
      `the runtime answers with the VS Code language model "${model.name}" (${key}) through Cog's bridge at ${bridge.baseUrl}${tools ? '' : ', tools as fenced code blocks (the model cannot call tools)'}`,
    );
    return bridge.token;
  }

  dispose(): void {
    void this.bridge?.then((b) => b.close());
    this.bridge = undefined;
  }

  private backend(): LmBackend {
    return {
      models: async () => {
        const models = await vscode.lm.selectChatModels();
        return models.map((m) => ({
          id: editorModelKey(m),
          name: m.name,
          maxInputTokens: m.maxInputTokens,
        }));
      },
      chat: async (request, signal) => {
        const model = await findModel(request.model);
        if (!model) {
          throw new LmBridgeError(
            404,
            'model_not_found',
            `VS Code has no language model "${request.model}".`,
          );
        }
        if (request.tools.length && model.capabilities?.supportsToolCalling === false) {
          throw new LmBridgeError(
            400,
            'tools_unsupported',
            `The VS Code language model "${model.name}" cannot call tools; send the request without tools.`,
          );
        }
        const cancel = new vscode.CancellationTokenSource();
        signal.addEventListener(
          'abort',
          () => {
            this.log.info(`the runtime dropped its request to "${model.name}": cancelling it`);
            cancel.cancel();
          },
          { once: true },
        );
        const messages = request.messages.map(toChatMessage);
        const response = await model
          .sendRequest(messages, toOptions(request), cancel.token)
          .then(undefined, (err: unknown) => {
            cancel.dispose();
            throw this.translate(err, model);
          });
        return {
          parts: this.parts(response, model, cancel),
          usage: async (completion) => {
            const counts = await Promise.all(messages.map((m) => model.countTokens(m)));
            return {
              promptTokens: counts.reduce((a, b) => a + b, 0),
              completionTokens: await model.countTokens(completion),
            };
          },
        };
      },
    };
  }

  private async *parts(
    response: vscode.LanguageModelChatResponse,
    model: EditorModel,
    cancel: vscode.CancellationTokenSource,
  ): AsyncIterable<LmPart> {
    try {
      for await (const part of response.stream) {
        if (part instanceof vscode.LanguageModelTextPart) {
          yield { type: 'text', text: part.value };
        } else if (part instanceof vscode.LanguageModelToolCallPart) {
          yield {
            type: 'tool_call',
            id: part.callId,
            name: part.name,
            input: part.input as Record<string, unknown>,
          };
        }
        // Other parts (thinking, data) have no place in a chat completion.
      }
    } catch (err) {
      throw this.translate(err, model);
    } finally {
      cancel.dispose();
    }
  }

  /** VS Code's LanguageModelError in words and an HTTP status; a refusal also tells the panel. */
  private translate(err: unknown, model: EditorModel): Error {
    const code = (err as { code?: unknown }).code;
    const detail = err instanceof Error ? err.message : String(err);
    if (code === vscode.LanguageModelError.NoPermissions.name) {
      const message = `VS Code did not allow Cog to use the language model "${model.name}". To allow it, send a message again and choose Allow when VS Code asks, or choose another model with "Cog: Use a VS Code Language Model".`;
      this.log.warn(`${message} (${detail})`);
      this.onRefused(message);
      return new LmBridgeError(403, 'lm_no_permission', message);
    }
    if (code === vscode.LanguageModelError.Blocked.name) {
      return new LmBridgeError(
        429,
        'lm_blocked',
        `VS Code blocked Cog's request to "${model.name}" (${detail}); wait a moment and try again.`,
      );
    }
    if (code === vscode.LanguageModelError.NotFound.name) {
      return new LmBridgeError(
        404,
        'model_not_found',
        `VS Code no longer has the language model "${model.name}".`,
      );
    }
    return new LmBridgeError(
      502,
      'lm_failed',
      `The language model "${model.name}" failed: ${detail}`,
    );
  }
}

/** The model `key` ("vendor/id") names, asking its vendor only (which activates its provider). */
async function findModel(key: string): Promise<EditorModel | undefined> {
  const slash = key.indexOf('/');
  if (slash <= 0) return undefined;
  const vendor = key.slice(0, slash);
  const id = key.slice(slash + 1);
  const models = await vscode.lm.selectChatModels({ vendor, id });
  return models.find((m) => m.vendor === vendor && m.id === id) as EditorModel | undefined;
}

/**
 * The final API has user and assistant messages only: a system prompt goes in as a user
 * message, first, as VS Code's own documentation advises; a tool result is a user message
 * holding a LanguageModelToolResultPart.
 */
function toChatMessage(m: LmChatRequest['messages'][number]): vscode.LanguageModelChatMessage {
  switch (m.role) {
    case 'system':
    case 'user':
      return vscode.LanguageModelChatMessage.User(m.text);
    case 'assistant': {
      const parts: (vscode.LanguageModelTextPart | vscode.LanguageModelToolCallPart)[] = [];
      if (m.text) parts.push(new vscode.LanguageModelTextPart(m.text));
      for (const call of m.toolCalls) {
        parts.push(new vscode.LanguageModelToolCallPart(call.id, call.name, call.input));
      }
      return vscode.LanguageModelChatMessage.Assistant(parts);
    }
    case 'tool':
      return vscode.LanguageModelChatMessage.User([
        new vscode.LanguageModelToolResultPart(m.callId, [
          new vscode.LanguageModelTextPart(m.text),
        ]),
      ]);
    default: {
      const never: never = m;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
}

function toOptions(request: LmChatRequest): vscode.LanguageModelChatRequestOptions {
  return {
    justification: JUSTIFICATION,
    modelOptions: request.modelOptions,
    ...(request.tools.length && {
      tools: request.tools.map((t) => ({
        name: t.name,
        description: t.description,
        ...(t.inputSchema && { inputSchema: t.inputSchema }),
      })),
      toolMode:
        request.toolMode === 'required'
          ? vscode.LanguageModelChatToolMode.Required
          : vscode.LanguageModelChatToolMode.Auto,
    }),
  };
}
