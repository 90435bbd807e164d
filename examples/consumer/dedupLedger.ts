/**
 * The sample consumer's record of what it processed, in Table storage: the
 * drain delivers at least once, with a stable `id`, so a consumer must
 * deduplicate on `id`; across a UIDVALIDITY change the same mail comes back
 * under a new id, and only `messageId` recognises it (README, "Delivery
 * guarantee").
 *
 * One partition per mailbox, two kinds of row:
 *   id-<id>          state "processing" (claimed, with claimedAt) or "done"
 *   mid-<hash>       the Message-ID of a mail done, in that folder, with the UIDVALIDITY it was done under
 *
 * The order, and why:
 * 1. claim the id (insert-if-absent; 409 = seen): "done" is a duplicate to
 *    acknowledge; a fresh "processing" claim is another invocation working on
 *    it right now (the host runs a batch of messages in parallel, and two
 *    copies can be in one batch), so this one fails to be retried later; a
 *    claim older than CLAIM_MS is a dead invocation's, and is taken over.
 * 2. a Message-ID done under another UIDVALIDITY is the same mail renumbered:
 *    a duplicate. Under the same UIDVALIDITY it is a distinct message (two
 *    UIDs), e.g. the same mail delivered twice to the mailbox, and is processed.
 * 3. the consumer's work;
 * 4. only then "done", with the Message-ID row, in one transaction. A failed
 *    work releases the claim, so the queue's retry processes it again.
 */
import { createHash } from 'node:crypto';
import { RestError, TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import type { ConsumedMail } from '../../shared/consumer/index.js';

/**
 * How long a claim holds: longer than an invocation can run (the Functions
 * host's functionTimeout, 10 minutes on Consumption and the default on Flex),
 * so a live invocation's claim is never taken over.
 */
export const CLAIM_MS = 10 * 60 * 1000;

interface IdRow {
  state: 'processing' | 'done';
  claimedAt: string;
  uidValidity: number;
  /** Set when it was a duplicate of a mail done under another id: why it was skipped. */
  duplicateOf?: string;
}

interface MessageIdRow {
  id: string;
  uidValidity: number;
}

export type Claim =
  | { kind: 'duplicate'; by: 'id' | 'messageId' }
  | { kind: 'claimed'; etag: string };

/** Another invocation holds the claim: fail this one, so the queue delivers it again later. */
export class ClaimHeldError extends Error {
  override readonly name = 'ClaimHeldError';
  readonly code = 'CLAIM_HELD';
}

export class DedupLedger {
  constructor(
    private readonly table: TableClient,
    private readonly claimMs = CLAIM_MS,
  ) {}

  /** Creates the table if it does not exist (TableClient ignores "already exists"). */
  async ensureTable(): Promise<void> {
    await this.table.createTable();
  }

  async claim(mail: ConsumedMail, now = new Date()): Promise<Claim> {
    const partitionKey = partitionOf(mail);
    const rowKey = `id-${mail.id}`;
    const row: TableEntity<IdRow> = { partitionKey, rowKey, state: 'processing', claimedAt: now.toISOString(), uidValidity: mail.uidValidity };
    let etag: string;
    try {
      etag = (await this.table.createEntity(row)).etag!;
    } catch (error) {
      if (status(error) !== 409) throw error;
      const seen = await this.table.getEntity<IdRow>(partitionKey, rowKey);
      if (seen.state === 'done') return { kind: 'duplicate', by: 'id' };
      if (now.getTime() - Date.parse(seen.claimedAt) < this.claimMs) throw new ClaimHeldError(`Mail ${mail.id} is being processed by another invocation since ${seen.claimedAt}.`);
      try {
        etag = (await this.table.updateEntity(row, 'Replace', { etag: seen.etag })).etag!;
      } catch (takeover) {
        if (status(takeover) === 412) throw new ClaimHeldError(`Mail ${mail.id}: another invocation took over the stale claim first.`);
        throw takeover;
      }
    }
    if (mail.messageId !== null) {
      const done = await this.table.getEntity<MessageIdRow>(partitionKey, messageIdKey(mail)).catch((error: unknown) => {
        if (status(error) === 404) return undefined;
        throw error;
      });
      if (done && done.uidValidity !== mail.uidValidity) {
        await this.table.updateEntity({ ...row, state: 'done', duplicateOf: done.id }, 'Replace', { etag });
        return { kind: 'duplicate', by: 'messageId' };
      }
    }
    return { kind: 'claimed', etag };
  }

  /** After the work succeeded: the id done, and the Message-ID with it, together. */
  async done(mail: ConsumedMail, claim: Extract<Claim, { kind: 'claimed' }>, now = new Date()): Promise<void> {
    const partitionKey = partitionOf(mail);
    const idRow = { partitionKey, rowKey: `id-${mail.id}`, state: 'done', claimedAt: now.toISOString(), uidValidity: mail.uidValidity } satisfies TableEntity<IdRow>;
    const actions: TransactionAction[] = [['update', idRow, 'Replace', { etag: claim.etag }]];
    if (mail.messageId !== null) {
      const messageIdRow = { partitionKey, rowKey: messageIdKey(mail), id: mail.id, uidValidity: mail.uidValidity } satisfies TableEntity<MessageIdRow>;
      actions.push(['upsert', messageIdRow, 'Replace']);
    }
    await this.table.submitTransaction(actions);
  }

  /** After the work failed: the claim is dropped, so the next delivery processes the mail. */
  async release(mail: ConsumedMail, claim: Extract<Claim, { kind: 'claimed' }>): Promise<void> {
    // If this fails the claim goes stale after claimMs and is taken over then.
    await this.table.deleteEntity(partitionOf(mail), `id-${mail.id}`, { etag: claim.etag }).catch(() => undefined);
  }

  /** What the ledger says of an id (for tests and operators): undefined, "processing" or "done". */
  async stateOf(mail: Pick<ConsumedMail, 'mailbox' | 'id'>): Promise<IdRow['state'] | undefined> {
    const row = await this.table.getEntity<IdRow>(partitionOf(mail), `id-${mail.id}`).catch((error: unknown) => {
      if (status(error) === 404) return undefined;
      throw error;
    });
    return row?.state;
  }
}

// PartitionKey and RowKey may not hold / \ # ? or control characters: the mailbox is percent-encoded, the Message-ID hashed.
const partitionOf = (mail: Pick<ConsumedMail, 'mailbox'>) => encodeURIComponent(mail.mailbox.toLowerCase());
const messageIdKey = (mail: Pick<ConsumedMail, 'folder' | 'messageId'>) =>
  `mid-${createHash('sha256').update(`${mail.folder}\n${mail.messageId}`).digest('hex')}`;

const status = (error: unknown) => (error instanceof RestError ? error.statusCode : (error as { statusCode?: number } | undefined)?.statusCode);
