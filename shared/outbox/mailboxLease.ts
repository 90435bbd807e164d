/**
 * One drain per mailbox folder at a time, across processes and instances: a
 * Blob lease on `locks/<key>.json` in the output container.
 *
 * The timer trigger is a singleton only within one function app; a CLI run, a
 * second app or a scale-out must not race it. The lease lasts LEASE_SECONDS and
 * is renewed while the drain runs, so a crashed drain's lease simply expires and
 * the next run takes over. The blob also keeps what a drain must remember
 * between runs: the folder's UIDVALIDITY and the failed hand-off count of each
 * message (Exchange Online has no custom IMAP keywords to keep them in).
 */
import { createHash } from 'node:crypto';
import type { BlobLeaseClient, BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { explainStorageError } from '../errors/explain.js';
import type { Logger } from '../errors/logger.js';
import { storageDeadline } from './storageLimits.js';

/**
 * Storage allows 15-60 s or infinite; a finite lease frees itself when its
 * holder dies. 30 s, renewed every 10 s, survives two failed renewals (the SDK
 * retries each) and lets the next timer run take over half a minute after a crash.
 */
export const LEASE_SECONDS = 30;
const RENEW_EVERY_MS = 10_000;

export interface DrainState {
  uidValidity?: number;
  /** Failed hand-offs per UID (under `uidValidity`), a drain that died while it alone was in flight included. */
  attempts: Record<string, number>;
  /**
   * UIDs being handed off, saved before the hand-off starts and cleared once it
   * ends: UIDs still here when the next drain starts were in flight when a drain
   * died (out of memory, killed). See AttemptLedger.recover for what that counts.
   */
  inFlight: number[];
  /** UIDs in flight at a death that have not been tried alone since: they are, before anything else. */
  suspects: number[];
}

export class MailboxLease {
  private renewal?: NodeJS.Timeout;
  private lostError?: unknown;

  private constructor(
    private readonly blob: BlockBlobClient,
    private readonly lease: BlobLeaseClient,
    readonly state: DrainState,
    private readonly logger: Logger,
  ) {}

  /**
   * Takes the lease, or returns undefined when another drain holds it. The lease
   * is renewed in the background until `release()`.
   */
  static async acquire(container: ContainerClient, mailbox: string, folder: string, logger: Logger): Promise<MailboxLease | undefined> {
    const key = createHash('sha256').update(`${mailbox.toLowerCase()}\n${folder}`).digest('hex');
    const blob = container.getBlockBlobClient(`locks/${key}.json`);
    const where = { container: container.containerName, blob: blob.name };
    try {
      // Create the blob once; never overwrite one that exists (it holds the state).
      await blob.uploadData(Buffer.from('{}'), { conditions: { ifNoneMatch: '*' }, abortSignal: storageDeadline() }).catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 409 && error.statusCode !== 412) throw error;
      });
      const lease = blob.getBlobLeaseClient();
      try {
        await lease.acquireLease(LEASE_SECONDS, { abortSignal: storageDeadline() });
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 409) return undefined;
        throw error;
      }
      const state = parseState(await blob.downloadToBuffer(0, undefined, { abortSignal: storageDeadline() }));
      const held = new MailboxLease(blob, lease, state, logger);
      held.renewal = setInterval(() => held.renew(), RENEW_EVERY_MS);
      held.renewal.unref();
      return held;
    } catch (error) {
      throw explainStorageError(error, where);
    }
  }

  /** True once a renewal failed: another drain may have the mailbox now, so this one must stop. */
  get lost(): boolean {
    return this.lostError !== undefined;
  }

  /** Writes the state back, under the lease. */
  async save(): Promise<void> {
    try {
      await this.blob.uploadData(Buffer.from(JSON.stringify(this.state)), {
        conditions: { leaseId: this.lease.leaseId },
        abortSignal: storageDeadline(),
      });
    } catch (error) {
      throw explainStorageError(error, { container: this.blob.containerName, blob: this.blob.name });
    }
  }

  async release(): Promise<void> {
    clearInterval(this.renewal);
    await this.lease.releaseLease({ abortSignal: storageDeadline() }).catch((error: unknown) => {
      // An expired or lost lease frees itself; nothing else to do.
      this.logger.debug(`Releasing the mailbox lease failed: ${(error as Error).message}`);
    });
  }

  private renew(): void {
    // A renewal must end before the lease does, or a hung one would leave `lost` unset too late.
    this.lease.renewLease({ abortSignal: AbortSignal.timeout(RENEW_EVERY_MS) }).catch((error: unknown) => {
      this.lostError = error;
      clearInterval(this.renewal);
      this.logger.warn(`The mailbox lease could not be renewed (${(error as Error).message}); stopping after the current batch.`);
    });
  }
}

function parseState(content: Buffer): DrainState {
  try {
    const parsed = JSON.parse(content.toString('utf8')) as Partial<DrainState>;
    return {
      uidValidity: typeof parsed.uidValidity === 'number' ? parsed.uidValidity : undefined,
      attempts: typeof parsed.attempts === 'object' && parsed.attempts !== null ? parsed.attempts : {},
      inFlight: uidsIn(parsed.inFlight),
      suspects: uidsIn(parsed.suspects),
    };
  } catch {
    return { attempts: {}, inFlight: [], suspects: [] };
  }
}

function uidsIn(value: unknown): number[] {
  return Array.isArray(value) ? value.filter((uid): uid is number => Number.isInteger(uid)) : [];
}
