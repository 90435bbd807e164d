/**
 * `mail-drain redrive`: quarantined mail handed off after all, once its cause
 * is fixed (a bug fixed, MAX_MESSAGE_BYTES raised).
 *
 * Each quarantined copy (`quarantine/<id>/raw.eml`, which never expires) is
 * found in FAILED_FOLDER by what the quarantine recorded on it (INTERNALDATE,
 * kept by a move, and the size) and moved back to the drained folder: it gets
 * a new UID there, so a new id and a fresh attempt count, and the next drain
 * hands it off. The copy is kept, marked redriven with that new id; a later
 * redrive deletes it once the mail is out of the drained folder and
 * `messages/<new id>/raw.eml` shows it handed off (or a new quarantine copy
 * holds it). Mail no longer in FAILED_FOLDER is
 * handed off from the copy's bytes by the hand-off itself, under its old id,
 * and only then is the copy deleted. A second run finds every copy either
 * marked or gone, so it moves nothing twice.
 */
import { describe, DrainError } from '../errors/errors.js';
import type { Logger } from '../errors/logger.js';
import type { Settings } from '../config/settings.js';
import { folderKey } from '../config/mailboxList.js';
import { messageKey } from '../contract/queueMessage.js';
import { blobNames, storeAndSend } from '../drain/handOff.js';
import { identityOf, type MessageIdentity } from '../drain/messageIdentity.js';
import { CredentialCache } from '../identity/credential.js';
import { Mailbox, type PendingMessage } from '../mailbox/mailbox.js';
import { ParseError } from '../mailbox/parseMessage.js';
import type { Outbox } from '../outbox/outbox.js';
import type { ListedBlob } from '../outbox/storedBlobs.js';
import { mailboxesOf, Outboxes, rawBlobs, settingsOf } from './storedMail.js';

const QUARANTINE_PREFIX = 'quarantine/';

/**
 * Metadata a redriven copy carries. Before the move: when, and the UID the mail
 * had in FAILED_FOLDER (`from`). After it: `moved`, and the UID and id the mail
 * has in the drained folder. A copy with `from` but not `moved` belongs to a
 * redrive that stopped around its move: its mail is never handed off from the
 * copy, which the drain may have done under the new id already.
 */
const MARK = { at: 'redrivenat', from: 'redrivenfrom', moved: 'redrivenmoved', uid: 'redrivenuid', as: 'redrivenas' } as const;

export interface RedriveOptions {
  /** This quarantined id only; otherwise every quarantined copy of the mailboxes (all, or `mailbox`). */
  id?: string;
  mailbox?: string;
  /** Say what each copy's state is and what a redrive would do; touch nothing. */
  dryRun?: boolean;
  credentials?: CredentialCache;
}

export interface RedriveResult {
  id: string;
  identity?: MessageIdentity;
  /**
   * movedBack: back in the drained folder, copy kept and marked; handedOff: handed
   * off from the copy, copy deleted; deleted: a redriven copy whose mail is handed
   * off (or quarantined anew), deleted; waiting: redriven, not drained yet;
   * listed: a dry run's finding; absent: no such copy; failed: see error.
   */
  outcome: 'movedBack' | 'handedOff' | 'deleted' | 'waiting' | 'listed' | 'absent' | 'failed';
  detail: string;
  error?: unknown;
}

interface Copy extends ListedBlob {
  id: string;
  identity: MessageIdentity;
  /** Where the copy is. */
  outbox: Outbox;
  /** The mailbox's own queue and container, where its drain hands off (several mailboxes may share a container, not a queue). */
  home: Outbox;
}

/** A mailbox folder's quarantined copies in Storage, and how many of them a redrive moved back: what `status` shows. */
export interface QuarantineSummary {
  kept: number;
  redriven: number;
}

/** Counts the copies of each mailbox folder (by folderKey) in the container's listing. */
export async function quarantineSummaries(outbox: Outbox): Promise<Map<string, QuarantineSummary>> {
  const summaries = new Map<string, QuarantineSummary>();
  for (const blob of rawBlobs(await outbox.blobs.list(QUARANTINE_PREFIX), QUARANTINE_PREFIX)) {
    const identity = identityOf(blob.metadata, blob.id);
    if (!identity) continue;
    const key = folderKey(identity.mailbox, identity.folder);
    const summary = summaries.get(key) ?? { kept: 0, redriven: 0 };
    summary.kept++;
    if (blob.metadata[MARK.at]) summary.redriven++;
    summaries.set(key, summary);
  }
  return summaries;
}

/** Redrives the chosen copies; throws only when a mailbox cannot be reached at all (its copies are then reported failed). */
export async function redrive(settings: Settings, logger: Logger, options: RedriveOptions = {}): Promise<RedriveResult[]> {
  const outboxes = new Outboxes(settings);
  const targets = mailboxesOf(settings, options.mailbox);
  const wanted = new Set(targets.map((t) => folderKey(t.mailbox, t.folder)));
  const results: RedriveResult[] = [];
  const groups = new Map<string, { one: Settings; copies: Copy[] }>();
  const prefix = options.id ? `${QUARANTINE_PREFIX}${options.id}/` : QUARANTINE_PREFIX;
  for (const { outbox } of outboxes.containers(targets)) {
    for (const blob of rawBlobs(await outbox.blobs.list(prefix), QUARANTINE_PREFIX)) {
      const identity = identityOf(blob.metadata, blob.id);
      if (!identity) {
        if (!options.mailbox) results.push(failed(blob.id, undefined, identityMissing(blob.id, outbox)));
        continue;
      }
      if (!wanted.has(folderKey(identity.mailbox, identity.folder))) continue;
      try {
        const one = settingsOf(settings, identity);
        const key = folderKey(one.mailbox, one.folder);
        const group = groups.get(key) ?? { one, copies: [] };
        group.copies.push({ ...blob, identity, outbox, home: outboxes.for(one) });
        groups.set(key, group);
      } catch (error) {
        results.push(failed(blob.id, identity, error));
      }
    }
  }
  if (options.id && results.length === 0 && groups.size === 0) {
    results.push({ id: options.id, outcome: 'absent', detail: 'nothing is quarantined under this id (already handed off again, or not a quarantined id)' });
  }
  const credentials = options.credentials ?? new CredentialCache();
  for (const { one, copies } of groups.values()) {
    try {
      results.push(...(await redriveFolder(one, copies, logger, credentials, options.dryRun ?? false)));
    } catch (error) {
      results.push(...copies.map((c) => failed(c.id, c.identity, error)));
    }
  }
  return results;
}

async function redriveFolder(one: Settings, copies: Copy[], logger: Logger, credentials: CredentialCache, dryRun: boolean): Promise<RedriveResult[]> {
  const results: RedriveResult[] = [];
  const fresh: Copy[] = [];
  const stored: Stored[] = [];
  for (const copy of copies) {
    if (copy.metadata[MARK.moved]) {
      const state = await redrivenState(copy, dryRun);
      if ('outcome' in state) results.push(state);
      else stored.push(state);
    } else if (copy.size > one.maxMessageBytes) results.push(failed(copy.id, copy.identity, stillTooLarge(copy, one)));
    else if (dryRun) results.push(result(copy, 'listed', `quarantined (${copy.size} bytes, received ${copy.identity.receivedAt ?? 'at an unknown time'}): would be moved back from ${one.failedFolder}, or handed off again from this copy`));
    else fresh.push(copy);
  }
  if (fresh.length === 0 && stored.length === 0) return results;

  const app = await credentials.get(one, logger);
  const tokens = (o: { fresh: boolean }) => app.mailboxToken(logger, o);
  const drained = await Mailbox.open(one, tokens, logger);
  try {
    const waiting = await drained.pending();
    for (const state of stored) {
      try {
        results.push(await followUp(state, drained.folder, new Set(waiting.map((m) => m.uid)), dryRun));
      } catch (error) {
        results.push(failed(state.copy.id, state.copy.identity, error));
      }
    }
    if (fresh.length === 0) return results;
    // FAILED_FOLDER opened as a drain would open it, its messages "settled" by a move back to the drained folder.
    const failedFolder = await Mailbox.open({ ...one, folder: one.failedFolder, afterProcessing: 'move', processedFolder: drained.folder }, tokens, logger);
    try {
      const inFailed = new Finder(await failedFolder.pending());
      const inDrained = new Finder(waiting);
      for (const copy of fresh) {
        try {
          results.push(await redriveOne(copy, one, { drained, failedFolder, inFailed, inDrained }));
        } catch (error) {
          results.push(failed(copy.id, copy.identity, error));
        }
      }
    } finally {
      await failedFolder.close();
    }
  } finally {
    await drained.close();
  }
  return results;
}

async function redriveOne(
  copy: Copy,
  one: Settings,
  imap: { drained: Mailbox; failedFolder: Mailbox; inFailed: Finder; inDrained: Finder },
): Promise<RedriveResult> {
  const { drained, failedFolder, inFailed, inDrained } = imap;
  const quarantined = inFailed.take(copy);
  if (quarantined) {
    // Said before the move: a redrive that stops between the move and its mark must not hand the mail off from the copy next time.
    await mark(copy, { [MARK.at]: new Date().toISOString(), [MARK.from]: String(quarantined.uid) });
    const moved = await failedFolder.moveTo(quarantined.uid, drained.folder);
    const newId = moved.uid === undefined ? undefined : messageKey(one.mailbox, drained.folder, moved.uidValidity ?? drained.uidValidity, moved.uid);
    await markMoved(copy, moved.uid, newId);
    return result(copy, 'movedBack', `moved from ${one.failedFolder} (UID ${quarantined.uid}) back to ${drained.folder}${moved.uid ? ` as UID ${moved.uid}` : ''}; the next drain hands it off under a new id; the quarantined copy is kept until then`);
  }
  // Moved back by a run that ended before it could mark the copy, or by a person.
  const back = inDrained.take(copy);
  if (back) {
    await markMoved(copy, back.uid, messageKey(one.mailbox, drained.folder, drained.uidValidity, back.uid));
    return result(copy, 'movedBack', `already back in ${drained.folder} as UID ${back.uid}; marked, the quarantined copy is kept until the next drain hands it off`);
  }
  if (copy.metadata[MARK.from]) {
    // An earlier redrive moved it (UID from) and stopped before it could mark the copy; since then a drain handed it
    // off under a new id, or a person removed it. A hand-off from the copy could send it twice: keep the copy instead.
    return result(
      copy,
      'waiting',
      `a redrive at ${copy.metadata[MARK.at]} stopped while it moved the mail (UID ${copy.metadata[MARK.from]} in ${one.failedFolder}), which is in neither folder now: a drain has handed it off or a person removed it; the copy is kept: delete ${copy.name} once you have seen the mail handed off`,
    );
  }
  // Not in the mailbox any more: handed off from the quarantined bytes, under the id it was quarantined with.
  const raw = await copy.outbox.blobs.read(copy.name);
  if (!raw) return { id: copy.id, identity: copy.identity, outcome: 'absent', detail: 'the quarantined copy was deleted meanwhile' };
  const { identity } = copy;
  const ref = { mailbox: identity.mailbox, folder: identity.folder, uidValidity: identity.uidValidity, failedFolder: one.failedFolder };
  const receivedAt = identity.receivedAt ? new Date(identity.receivedAt) : copy.lastModified;
  try {
    await storeAndSend({ uid: identity.uid, size: raw.content.length, receivedAt, source: raw.content }, ref, copy.home);
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    throw new DrainError('STILL_UNPARSEABLE', `Its quarantined copy still cannot be parsed: ${describe(error)}`, { blob: copy.name, container: copy.outbox.containerName }, { cause: error });
  }
  // Only now, with the queue message acknowledged.
  await copy.outbox.blobs.delete(copy.name);
  // Exchange may report a size other than the bytes it serves ([MS-OXIMAP] 2.2.25): then the mail may still be there, unmatched.
  return result(copy, 'handedOff', `not found in ${one.failedFolder} (by INTERNALDATE and size): handed off from the quarantined copy under its id, copy deleted; if the mail is still in ${one.failedFolder}, delete it there`);
}

/** A redriven copy whose mail a drain has stored under its new id (handed off, or quarantined anew). */
interface Stored {
  copy: Copy;
  since: string;
  what: string;
}

/**
 * A copy redriven earlier: its result while no drain has stored its mail
 * under the new id; otherwise what was stored, for followUp.
 */
async function redrivenState(copy: Copy, dryRun: boolean): Promise<RedriveResult | Stored> {
  const newId = copy.metadata[MARK.as];
  const since = `redriven at ${copy.metadata[MARK.at]}${copy.metadata[MARK.uid] ? ` (UID ${copy.metadata[MARK.uid]})` : ''}`;
  if (!newId) return result(copy, dryRun ? 'listed' : 'waiting', `${since}; the server named no new UID, so the copy is kept: delete it once the mail is handed off`);
  const { blobs } = copy.home;
  const handedOff = await blobs.exists(blobNames.raw(newId));
  const requarantined = !handedOff && (await blobs.exists(blobNames.quarantined(newId)));
  if (!handedOff && !requarantined) return result(copy, dryRun ? 'listed' : 'waiting', `${since}; not drained yet: a redrive after the next drain deletes this copy`);
  return { copy, since, what: handedOff ? `handed off as ${newId}` : `quarantined again as ${newId}, whose copy holds its bytes` };
}

/**
 * Deletes a redriven copy once its mail is out of the drained folder: its new
 * raw.eml is written before the queue message, so only a settled message (gone
 * from the folder, or \\Seen in flag mode) was surely handed off.
 */
async function followUp({ copy, since, what }: Stored, folder: string, waiting: Set<number>, dryRun: boolean): Promise<RedriveResult> {
  if (waiting.has(Number(copy.metadata[MARK.uid]))) return result(copy, dryRun ? 'listed' : 'waiting', `${since}; a drain is handing it off (still in ${folder}): the copy is kept until it is done`);
  if (dryRun) return result(copy, 'listed', `${since}, ${what}: the copy would be deleted`);
  await copy.outbox.blobs.delete(copy.name);
  return result(copy, 'deleted', `${since}, ${what}: quarantined copy deleted`);
}

/** Adds to the copy's metadata (in Storage and here). */
async function mark(copy: Copy, metadata: Record<string, string>): Promise<void> {
  await copy.outbox.blobs.mark(copy.name, copy.metadata, metadata);
  copy.metadata = { ...copy.metadata, ...metadata };
}

function markMoved(copy: Copy, uid: number | undefined, newId: string | undefined): Promise<void> {
  return mark(copy, {
    ...(!copy.metadata[MARK.at] && { [MARK.at]: new Date().toISOString() }),
    [MARK.moved]: 'true',
    ...(uid !== undefined && { [MARK.uid]: String(uid) }),
    ...(newId && { [MARK.as]: newId }),
  });
}

/**
 * Finds a quarantined copy's mail in a folder listing: the same INTERNALDATE
 * (a move keeps it, RFC 6851) and size; each message found once, so two
 * identical copies claim two messages.
 */
class Finder {
  private readonly taken = new Set<number>();
  constructor(private readonly listed: PendingMessage[]) {}

  take(copy: Copy): PendingMessage | undefined {
    if (!copy.identity.receivedAt) return undefined;
    const at = Date.parse(copy.identity.receivedAt);
    const found = this.listed.find((m) => !this.taken.has(m.uid) && m.receivedAt?.getTime() === at && m.size === copy.size);
    if (found) this.taken.add(found.uid);
    return found;
  }
}

function result(copy: Copy, outcome: RedriveResult['outcome'], detail: string): RedriveResult {
  return { id: copy.id, identity: copy.identity, outcome, detail };
}

function failed(id: string, identity: MessageIdentity | undefined, error: unknown): RedriveResult {
  return { id, identity, outcome: 'failed', detail: describe(error), error };
}

function stillTooLarge(copy: Copy, one: Settings): DrainError {
  return new DrainError('STILL_TOO_LARGE', `${copy.size} bytes, still over MAX_MESSAGE_BYTES (${one.maxMessageBytes}).`, {
    blob: copy.name,
    container: copy.outbox.containerName,
  });
}

function identityMissing(id: string, outbox: Outbox): DrainError {
  return new DrainError('BLOB_IDENTITY_MISSING', `${blobNames.quarantined(id)} does not record which mail it is, so it cannot be found in FAILED_FOLDER.`, {
    blob: blobNames.quarantined(id),
    container: outbox.containerName,
  });
}
