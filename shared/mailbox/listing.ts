/**
 * The folder's inventory: UID, size, \\Seen and INTERNALDATE of every message, listed with
 * one `UID FETCH 1:* (UID RFC822.SIZE FLAGS INTERNALDATE)`: a range, never a list of UIDs,
 * so the command stays short however large the backlog. Responses the server
 * sends unasked (another client's flag changes) carry no size and are not
 * messages to drain.
 */
import type { ImapFlow } from 'imapflow';
import type { Logger } from '../errors/logger.js';
import { describeImap, isRefusal } from './imapResponses.js';
import { internalDateOf } from './streamMessage.js';
import { uidSet } from './uidSet.js';

export interface Listed {
  size: number;
  seen: boolean;
  /** INTERNALDATE, when the server gave one: how long a message left behind has waited. */
  receivedAt?: Date;
}

/** UIDs per size-listing command when the listing of the whole folder is refused. */
const SIZE_CHUNK = 200;

/**
 * Lists the folder at once; where the server refuses that, in parts: UIDs by
 * UID SEARCH, sizes in chunks, and one UID at a time where a chunk is refused.
 * A message whose size the server will not tell is listed with size 0: it is
 * fetched alone, where its own failure is counted against it and cannot hold
 * up the rest.
 */
export async function listFolder(
  client: ImapFlow,
  searchAll: () => Promise<number[]>,
  logger: Logger,
  folder: string,
): Promise<Map<number, Listed>> {
  try {
    return await listSizes(client, '1:*');
  } catch (error) {
    if (!isRefusal(error)) throw error;
    logger.warn(`The server refused to list ${folder} at once (${describeImap(error)}); listing it in parts.`);
  }
  const uids = await searchAll();
  const listed = new Map<number, Listed>();
  for (let i = 0; i < uids.length; i += SIZE_CHUNK) {
    const chunk = uids.slice(i, i + SIZE_CHUNK);
    try {
      for (const [uid, entry] of await listSizes(client, uidSet(chunk), new Set(chunk))) listed.set(uid, entry);
    } catch (error) {
      if (!isRefusal(error)) throw error;
      for (const uid of chunk) {
        const one = await listSizes(client, String(uid), new Set([uid])).catch((e: unknown) => {
          if (!isRefusal(e)) throw e;
          return new Map([[uid, { size: 0, seen: false }]]);
        });
        for (const [u, entry] of one) listed.set(u, entry);
      }
    }
  }
  return listed;
}

/** UID, size, \\Seen and INTERNALDATE of every message in `range`; responses without a size (unsolicited flag updates) are skipped. */
async function listSizes(client: ImapFlow, range: string, only?: Set<number>): Promise<Map<number, Listed>> {
  const listed = new Map<number, Listed>();
  for await (const message of client.fetch(range, { uid: true, size: true, flags: true, internalDate: true }, { uid: true })) {
    if (typeof message.uid !== 'number' || typeof message.size !== 'number' || listed.has(message.uid)) continue;
    if (only && !only.has(message.uid)) continue;
    listed.set(message.uid, { size: message.size, seen: message.flags?.has('\\Seen') ?? false, receivedAt: internalDateOf(message.internalDate) });
  }
  return listed;
}
