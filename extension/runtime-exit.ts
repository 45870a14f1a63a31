/** How a runtime child ended, and the words for it. No Node imports: the browser host uses it. */
export interface RuntimeExit {
  code: number | null;
  signal: string | null;
  /** The runtime's last stderr line: for `cog`, the user-facing reason it stopped. */
  reason: string;
}

export function describeExit(exit: RuntimeExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return exit.reason ? `${exit.reason} (${how})` : `the runtime ${how}`;
}
