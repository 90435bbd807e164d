/**
 * What the last drain of one mailbox folder did, kept beside its lease state:
 * `status/<key>.json` in the mailbox's output container. Every drain writes it
 * as it ends, whatever ended it (another drain holding the mailbox aside);
 * `mail-drain status` prints it, and alerts read it.
 *
 * The key is the mailbox folder as configured (MAILBOXES), not as the server
 * spells it: a drain that fails before it reaches the server has a status too.
 */
import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { explainStorageError } from '../errors/explain.js';
import { folderKey } from '../config/mailboxList.js';
import { storageDeadline } from './storageLimits.js';

export type RunOutcome = 'completed' | 'incomplete' | 'failed';

const statusSchema = z.object({
  mailbox: z.string(),
  folder: z.string(),
  lastRun: z.object({
    startedAt: z.string(),
    endedAt: z.string(),
    /** completed: every message found handed off or quarantined; incomplete: some left for the next run; failed: the drain could not run. */
    outcome: z.enum(['completed', 'incomplete', 'failed']),
    handedOff: z.number(),
    quarantined: z.number(),
    /** Messages still in the folder after the run (failed or not attempted); null when the run never listed it. */
    left: z.number().nullable(),
    /** INTERNALDATE of the oldest message left, when any is. */
    oldestWaitingSince: z.string().nullable(),
    /** Why the run stopped early or failed, with the code and what to do when it is one of ours. */
    error: z.object({ code: z.string().nullable(), message: z.string(), remedy: z.string().nullable() }).nullable(),
  }),
  /** When a run last completed: what a heartbeat watches. */
  lastCompletedAt: z.string().nullable(),
});

export type MailboxStatus = z.output<typeof statusSchema>;
export type RunStatus = MailboxStatus['lastRun'];

/** The blob name shared by a mailbox folder's status, as configured. */
export function statusBlobName(mailbox: string, folder: string): string {
  return `status/${createHash('sha256').update(folderKey(mailbox, folder)).digest('hex')}.json`;
}

/** Reads the status, or undefined when no drain has written one (or it is unreadable: the next drain rewrites it). */
export async function readStatus(container: ContainerClient, mailbox: string, folder: string): Promise<MailboxStatus | undefined> {
  const blob = container.getBlockBlobClient(statusBlobName(mailbox, folder));
  let content: Buffer;
  try {
    content = await blob.downloadToBuffer(0, undefined, { abortSignal: storageDeadline() });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw explainStorageError(error, { container: container.containerName, blob: blob.name });
  }
  try {
    return statusSchema.parse(JSON.parse(content.toString('utf8')));
  } catch {
    return undefined;
  }
}

/** Writes this run's status, keeping when a run last completed. */
export async function writeStatus(container: ContainerClient, mailbox: string, folder: string, run: RunStatus): Promise<MailboxStatus> {
  const previous = await readStatus(container, mailbox, folder).catch(() => undefined);
  const status: MailboxStatus = {
    mailbox,
    folder,
    lastRun: run,
    lastCompletedAt: run.outcome === 'completed' ? run.endedAt : (previous?.lastCompletedAt ?? null),
  };
  const blob = container.getBlockBlobClient(statusBlobName(mailbox, folder));
  try {
    await blob.uploadData(Buffer.from(JSON.stringify(status, null, 2)), {
      blobHTTPHeaders: { blobContentType: 'application/json' },
      abortSignal: storageDeadline(),
    });
  } catch (error) {
    throw explainStorageError(error, { container: container.containerName, blob: blob.name });
  }
  return status;
}
