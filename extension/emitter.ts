/** The subset of `vscode.Disposable` the connection layer needs, so it runs without VS Code. */
export interface Disposable {
  dispose(): void;
}

export type Listener<T> = (value: T) => void;

/**
 * A minimal event emitter with VS Code's `Event<T>` shape (`event(listener) → Disposable`).
 * The connection and relay use it instead of `vscode.EventEmitter` so that they can be
 * tested in plain Node against a real runtime.
 */
export class Emitter<T> implements Disposable {
  private listeners = new Set<Listener<T>>();

  readonly event = (listener: Listener<T>): Disposable => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  /** Calls every listener; one that throws does not stop the others. */
  fire(value: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}

/** What the extension logs through: a `vscode.LogOutputChannel` fits, and so does a test's. */
export interface Logger {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}
