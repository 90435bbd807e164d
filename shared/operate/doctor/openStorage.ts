import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import type { Settings } from '../../config/settings.js';
import { describe, DrainError } from '../../errors/errors.js';
import { storageCredential } from '../../identity/storageCredential.js';
import { storageClients } from '../../outbox/outbox.js';

/**
 * The queue and container clients, built the way Outbox.open builds them: from
 * the connection string, or with the storage identity (storageCredential).
 * A connection string the SDK cannot parse fails as a setting to fix.
 */
export function openStorage(settings: Settings): { queue: QueueClient; container: ContainerClient } {
  const { storage, queueName, containerName } = settings.output;
  try {
    const { queues, blobs } = storageClients(storage, () => storageCredential(settings));
    return { queue: queues.getQueueClient(queueName), container: blobs.getContainerClient(containerName) };
  } catch (error) {
    throw new DrainError(
      'SETTINGS_INVALID',
      `OUTPUT_STORAGE is not a storage connection string the Storage SDK accepts: ${describe(error)}. ` +
        'Copy the connection string from the storage account (Access keys), or leave OUTPUT_STORAGE empty and set ' +
        'OUTPUT_STORAGE__queueServiceUri and OUTPUT_STORAGE__blobServiceUri for identity-based access.',
      {},
      { cause: error },
    );
  }
}
