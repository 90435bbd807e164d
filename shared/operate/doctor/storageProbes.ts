/**
 * The queue and container checks: each writes a probe and deletes it at once,
 * so nothing is left that a consumer would read.
 */
import { randomUUID } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { DOCTOR_PROBE } from '../../contract/doctorProbe.js';
import { encodeForQueue } from '../../contract/queueMessage.js';
import { CLAIM_CHECK_PREFIX } from '../../drain/handOff.js';
import { describe } from '../../errors/errors.js';
import { explainStorageError } from '../../errors/explainStorageError.js';
import { publicUrl } from '../../outbox/outbox.js';
import type { Passed } from './doctorStep.js';

/**
 * The queue probe lives this long. Storage requires its visibility timeout to be
 * shorter than its time to live, so even a probe that could not be deleted (the
 * function's identity may only send) is visible for one second before it expires.
 */
export const PROBE_TTL_SECONDS = 60;

export async function checkQueue(queue: QueueClient): Promise<Passed<true>> {
  const probe = encodeForQueue(DOCTOR_PROBE);
  const sent = await queue
    .sendMessage(probe, { messageTimeToLive: PROBE_TTL_SECONDS, visibilityTimeout: PROBE_TTL_SECONDS - 1 })
    .catch((error: unknown) => {
      throw explainStorageError(error, { queue: queue.name });
    });
  const url = publicUrl(queue.url);
  try {
    await queue.deleteMessage(sent.messageId, sent.popReceipt);
  } catch (error) {
    // The function's identity has "Storage Queue Data Message Sender": it may send, not delete.
    return {
      value: true,
      detail: `${url}: sent a probe message (writable); deleting it failed (${statusOf(error)}), so it stays invisible and expires within ${PROBE_TTL_SECONDS} s`,
    };
  }
  return { value: true, detail: `${url}: sent a probe message (writable) and deleted it` };
}

export async function checkContainer(container: ContainerClient): Promise<Passed<true>> {
  // Under the claim-check prefix, which the container's lifecycle rule expires, should the delete fail.
  const name = `${CLAIM_CHECK_PREFIX}doctor-probe-${randomUUID()}.txt`;
  const blob = container.getBlockBlobClient(name);
  await blob.uploadData(Buffer.from('mail-drain doctor probe\n'), { blobHTTPHeaders: { blobContentType: 'text/plain' } }).catch((error: unknown) => {
    throw explainStorageError(error, { container: container.containerName, blob: name });
  });
  const url = publicUrl(container.url);
  try {
    await blob.delete();
  } catch (error) {
    return { value: true, detail: `${url}: uploaded ${name} (writable); deleting it failed (${statusOf(error)}), the lifecycle rule removes it` };
  }
  return { value: true, detail: `${url}: uploaded ${name} (writable) and deleted it` };
}

function statusOf(error: unknown): string {
  const e = error as { statusCode?: number; code?: string };
  return e.statusCode ? `HTTP ${e.statusCode}${e.code ? `, ${e.code}` : ''}` : describe(error).split('\n')[0]!;
}
