/**
 * What Node, the Azure SDK and imapflow put on an error, read the same way by
 * every classifier: the codes along its `cause` chain, and its first line.
 */

/** The string `code`s of an error and of its causes, outermost first. */
export function codeChain(error: unknown): string[] {
  const codes: string[] = [];
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string') codes.push(e.code);
  }
  return codes;
}

/** The first line of an error's message: what a log line quotes of it. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split(/\r?\n/)[0] ?? message;
}
