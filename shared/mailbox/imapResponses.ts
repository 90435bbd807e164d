/** What imapflow's errors say about the server's answer. */

/** The server answered NO or BAD to a command (rather than the session failing). */
export function isRefusal(error: unknown): boolean {
  for (let e = error as { responseStatus?: string; cause?: unknown } | undefined, i = 0; e && i < 4; e = e.cause as typeof e, i++) {
    if (e.responseStatus === 'NO' || e.responseStatus === 'BAD') return true;
  }
  return false;
}

/** The server's answer, first line only: it is the server's text, and goes into our messages. */
export function describeImap(error: unknown): string {
  const e = error as { responseText?: string; message?: string };
  return (e.responseText || e.message || String(error)).split(/[\r\n]/)[0]!;
}
