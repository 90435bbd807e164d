/**
 * The sample consumer's own work, once per mail: where yours goes (store the
 * invoice, open a ticket...). This one reads every attachment, verified
 * against its size and SHA-256, and logs what it got. It must throw when it
 * did not finish: the mail is then not recorded as done, and the queue
 * delivers it again.
 */
import type { InvocationContext } from '@azure/functions';
import type { ConsumedMail } from '../../shared/consumer/index.js';

export async function handleMail(mail: ConsumedMail, context: InvocationContext): Promise<void> {
  let bytes = 0;
  for (const attachment of mail.attachments) bytes += (await attachment.read()).length;
  context.info(`Processed mail ${mail.id} from ${mail.mailbox}: ${mail.attachments.length} attachment(s), ${bytes} bytes verified.`);
}
