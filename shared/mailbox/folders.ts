/** The folders a drain uses: the drained one, as the server spells it, and those it settles into. */
import type { ImapFlow } from 'imapflow';
import type { Logger } from '../errors/logger.js';

/** Creates the missing folders; returns every folder path the server lists. */
export async function ensureFolders(client: ImapFlow, paths: string[], logger: Logger): Promise<string[]> {
  const existing = (await client.list()).map((folder) => folder.path);
  for (const path of paths.filter((p) => !existing.includes(p))) {
    try {
      await client.mailboxCreate(path);
      logger.info(`Created folder "${path}"`);
    } catch (error) {
      // Two drains starting at once both find it missing; the second's CREATE fails. Fine if it exists now.
      if (!(await client.list()).some((folder) => folder.path === path)) throw error;
    }
  }
  return existing;
}

/**
 * One folder, one name: INBOX is case-insensitive (RFC 3501 5.1), and Exchange
 * treats every folder name so. Without this, "inbox" and "INBOX" would be two
 * leases and two ids for the same mail. A folder typed exactly as listed is
 * kept; otherwise the one listed folder that differs only in case is used.
 */
export function canonicalPath(folder: string, listed: string[]): string {
  if (/^inbox$/i.test(folder)) return 'INBOX';
  if (listed.includes(folder)) return folder;
  const matches = listed.filter((path) => path.toLowerCase() === folder.toLowerCase());
  return matches.length === 1 ? matches[0]! : folder;
}
