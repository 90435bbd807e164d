/**
 * A sample consumer of the drain's output queue: a queue-triggered function
 * that reads each mail with mail-drain/consumer and processes it once, however
 * often the queue delivers it (dedupLedger.ts says how, and in which order).
 *
 * A consumer's own app imports `from 'mail-drain/consumer'`; this sample sits
 * in the repository and imports the same module by its path.
 *
 * A failure throws: the host delivers the message again (host.json's
 * maxDequeueCount times), then moves it to `<queue>-poison`, the queue the
 * drain also reports quarantined mail on (tell them apart by `reason`, which
 * only the drain's notices have).
 */
import { app, type InvocationContext } from '@azure/functions';
import { readMailMessage, type BlobAccess, type ConsumedMail } from '../../../shared/consumer/index.js';
import { consumerSettings } from '../consumerSettings.js';
import { DedupLedger } from '../dedupLedger.js';
import { handleMail } from '../handleMail.js';

export interface MailConsumer {
  blobs: BlobAccess;
  ledger: DedupLedger;
  /** The consumer's work on a mail (handleMail unless a test brings its own). */
  work?: (mail: ConsumedMail, context: InvocationContext) => Promise<void>;
}

/** The handler for one queue item, given where the blobs and the ledger are. */
export function mailConsumer({ blobs, ledger, work = handleMail }: MailConsumer) {
  let tableReady: Promise<void> | undefined;
  return async function consume(item: unknown, context: InvocationContext): Promise<void> {
    const mail = await readMailMessage(item, { blobs });
    if (mail === null) return context.info("Skipped the doctor's probe: not mail.");
    await (tableReady ??= ledger.ensureTable().catch((error: unknown) => {
      tableReady = undefined;
      throw error;
    }));
    const claim = await ledger.claim(mail);
    if (claim.kind === 'duplicate') return context.info(`Skipped mail ${mail.id}: a duplicate (by ${claim.by}), processed before.`);
    try {
      await work(mail, context);
    } catch (error) {
      await ledger.release(mail, claim);
      throw error;
    }
    await ledger.done(mail, claim);
  };
}

let fromSettings: ReturnType<typeof mailConsumer> | undefined;

/** The registered handler: settings from the app settings, on the first message. */
export async function consumeMail(item: unknown, context: InvocationContext): Promise<void> {
  if (!fromSettings) {
    const { blobs, table } = consumerSettings(process.env);
    fromSettings = mailConsumer({ blobs, ledger: new DedupLedger(table) });
  }
  await fromSettings(item, context);
}

app.storageQueue('consumeMail', {
  queueName: '%MAIL_QUEUE%',
  connection: 'MAIL_STORAGE',
  handler: consumeMail,
});
