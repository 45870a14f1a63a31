/**
 * Whether this session's code runs may read the files attached to a message: asked once
 * per session (the first time files go with a message), remembered for that session in
 * this window only, never stored. A "no" is not remembered: the next message asks again.
 */
export class ShareConsent {
  private readonly allowed = new Set<string>();

  /** `ask`: the question to the user, with the files' paths; true means allow. */
  constructor(private readonly ask: (paths: readonly string[]) => Promise<boolean>) {}

  async allows(session: string, paths: readonly string[]): Promise<boolean> {
    if (!paths.length) return false;
    if (this.allowed.has(session)) return true;
    if (!(await this.ask(paths))) return false;
    this.allowed.add(session);
    return true;
  }

  /** A new or cleared session starts without consent. */
  forget(session: string): void {
    this.allowed.delete(session);
  }
}
