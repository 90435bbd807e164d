/**
 * `mail-drain replay`: sends a handed-off message's queue message again, with
 * the same id, for a consumer that lost or mishandled it. Nothing in the
 * mailbox is touched.
 *
 * The queue message is not stored as such, so it is rebuilt from the claim-check
 * blobs: a message too large for the queue has its full JSON in message.json,
 * and its envelope is sent again; any other is rebuilt from raw.eml by the
 * hand-off's own code (storeAndSend), with the identity the hand-off recorded
 * on raw.eml, so the same blobs are written again under the same names and the
 * queue message is the one first sent. Blobs live as long as the claim-check
 * retention; a message past it is reported gone, never guessed.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { DrainError } from '../errors/errors.js';
import type { Settings } from '../config/settings.js';
import { folderKey } from '../config/mailboxList.js';
import { mailMessageSchema } from '../contract/queueMessage.js';
import { blobNames, CLAIM_CHECK_PREFIX, storeAndSend } from '../drain/handOff.js';
import { identityOf, type MessageIdentity } from '../drain/messageIdentity.js';
import { envelopeFor } from '../outbox/envelope.js';
import type { Outbox } from '../outbox/outbox.js';
import { mailboxesOf, Outboxes, rawBlobs, settingsOf } from './storedMail.js';

export interface ReplayOptions {
  /** These ids; otherwise every stored message of the mailboxes (all, or `mailbox`), received since `since`. */
  ids?: string[];
  mailbox?: string;
  /** Compared with the message's receivedAt (INTERNALDATE), as the queue message carries it. */
  since?: Date;
  /** List what would be sent, send nothing. */
  dryRun?: boolean;
}

export type ReplayResult =
  | { id: string; outcome: 'sent' | 'wouldSend'; identity: MessageIdentity; queueUrl: string; viaBlob?: boolean }
  | { id: string; outcome: 'failed'; error: unknown };

/** Messages replayed at once: each is a few Storage round trips. */
const REPLAY_CONCURRENCY = 8;

/** Replays the chosen messages; never throws for one message (its result says why it was not sent). */
export async function replay(settings: Settings, options: ReplayOptions): Promise<ReplayResult[]> {
  const outboxes = new Outboxes(settings);
  const targets = mailboxesOf(settings, options.mailbox);
  const limit = pLimit(REPLAY_CONCURRENCY);
  const found = options.ids ? await byId(outboxes, targets, options.ids, limit) : await bySelection(outboxes, targets, options);
  return Promise.all(
    found.map((one) =>
      limit(async (): Promise<ReplayResult> => {
        if ('error' in one) return { id: one.id, outcome: 'failed', error: one.error };
        try {
          const mailbox = settingsOf(settings, one.identity);
          const outbox = outboxes.for(mailbox);
          if (options.dryRun) return { id: one.id, outcome: 'wouldSend', identity: one.identity, queueUrl: outbox.queueUrl };
          const { viaBlob } = await replayOne(outbox, mailbox, one.id, one.identity);
          return { id: one.id, outcome: 'sent', identity: one.identity, queueUrl: outbox.queueUrl, viaBlob };
        } catch (error) {
          return { id: one.id, outcome: 'failed', error };
        }
      }),
    ),
  );
}

type Found = { id: string; identity: MessageIdentity } | { id: string; error: unknown };

/** Each id's raw.eml, looked for in every container of the mailboxes; it must be one of theirs. */
async function byId(outboxes: Outboxes, targets: Settings[], ids: string[], limit: LimitFunction): Promise<Found[]> {
  const containers = outboxes.containers(targets);
  const wanted = new Set(targets.map((t) => folderKey(t.mailbox, t.folder)));
  return Promise.all(
    ids.map((id) => limit(async (): Promise<Found> => {
      try {
        for (const { outbox } of containers) {
          // Its metadata only: the bytes are read when it is sent, one message at a time per slot.
          const raw = await outbox.blobs.properties(blobNames.raw(id));
          if (!raw) continue;
          const identity = identityIn(raw.metadata, id, outbox);
          if (!wanted.has(folderKey(identity.mailbox, identity.folder))) {
            throw new DrainError('SETTINGS_INVALID', `${id} is a message of ${identity.mailbox}, folder ${identity.folder}, not of the --mailbox given: name its mailbox, or none.`);
          }
          return { id, identity };
        }
        throw new DrainError(
          'CLAIM_CHECK_GONE',
          `No stored message ${id} in ${containers.map((c) => c.containerName).join(', ')}: past the claim-check retention, or never handed off.`,
          { blob: blobNames.raw(id), container: containers.map((c) => c.containerName).join(', ') },
        );
      } catch (error) {
        return { id, error };
      }
    })),
  );
}

/** Every stored raw message of the mailboxes received since `since`, oldest first, from the containers' listings. */
async function bySelection(outboxes: Outboxes, targets: Settings[], options: ReplayOptions): Promise<Found[]> {
  const wanted = new Set(targets.map((t) => folderKey(t.mailbox, t.folder)));
  const found: (Found & { receivedAt: string })[] = [];
  for (const { outbox } of outboxes.containers(targets)) {
    for (const blob of rawBlobs(await outbox.blobs.list(CLAIM_CHECK_PREFIX), CLAIM_CHECK_PREFIX)) {
      const identity = identityOf(blob.metadata, blob.id);
      if (!identity?.receivedAt) {
        // Whose it is cannot be told: reported when every mailbox was asked for and its time qualifies.
        if (!options.mailbox && (!options.since || blob.lastModified >= options.since)) {
          found.push({ id: blob.id, error: identityMissing(blob.id, outbox), receivedAt: blob.lastModified.toISOString() });
        }
        continue;
      }
      if (!wanted.has(folderKey(identity.mailbox, identity.folder))) continue;
      if (options.since && new Date(identity.receivedAt) < options.since) continue;
      found.push({ id: blob.id, identity, receivedAt: identity.receivedAt });
    }
  }
  return found.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
}

/**
 * Sends one message again: the envelope of its message.json when it has one,
 * otherwise the message rebuilt from raw.eml by the hand-off.
 */
async function replayOne(outbox: Outbox, one: Settings, id: string, identity: MessageIdentity): Promise<{ viaBlob: boolean }> {
  const payload = await outbox.blobs.read(blobNames.payload(id));
  if (payload) {
    const message = mailMessageSchema.parse(JSON.parse(payload.content.toString('utf8')));
    if (message.id !== id) throw new Error(`${blobNames.payload(id)} holds message ${message.id}, not ${id}.`);
    await outbox.sendQueued(envelopeFor(message, payload.stored));
    return { viaBlob: true };
  }
  const raw = await outbox.blobs.read(blobNames.raw(id));
  if (!raw) throw new DrainError('CLAIM_CHECK_GONE', `${blobNames.raw(id)} is gone: past the claim-check retention.`, { blob: blobNames.raw(id), container: outbox.containerName });
  const ref = { mailbox: identity.mailbox, folder: identity.folder, uidValidity: identity.uidValidity, failedFolder: one.failedFolder };
  const fetched = { uid: identity.uid, size: raw.content.length, receivedAt: new Date(identity.receivedAt!), source: raw.content };
  const { viaBlob } = await storeAndSend(fetched, ref, outbox);
  return { viaBlob };
}

function identityIn(metadata: Record<string, string>, id: string, outbox: Outbox): MessageIdentity {
  const identity = identityOf(metadata, id);
  if (!identity?.receivedAt) throw identityMissing(id, outbox);
  return identity;
}

function identityMissing(id: string, outbox: Outbox): DrainError {
  return new DrainError('BLOB_IDENTITY_MISSING', `${blobNames.raw(id)} does not record which mail it is, so its queue message cannot be rebuilt.`, {
    blob: blobNames.raw(id),
    container: outbox.containerName,
  });
}
