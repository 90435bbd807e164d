/** Remedies for Azure Storage's answers (queue and blobs). */
import type { DrainErrorCode } from '../errors.js';
import { passing, type Remedy } from './remedy.js';

const STAYS = 'Nothing to do: the message stays in the mailbox and is retried on the next run.';

export const STORAGE_REMEDIES: Record<Extract<DrainErrorCode, `STORAGE_${string}`>, Remedy> = {
  STORAGE_FORBIDDEN: {
    said: 'Storage 401/403',
    summary: 'roles on the queues and the container, or the connection string',
    passes: false,
    steps: () => [
      {
        say:
          'Give the function\'s identity "Storage Queue Data Message Sender" on the queues and "Storage Blob Data Contributor" on the container ' +
          '(infra/main.bicep does), or check the connection string in OUTPUT_STORAGE.',
      },
    ],
  },
  STORAGE_QUEUE_NOT_FOUND: {
    said: 'Storage 404 `QueueNotFound`',
    summary: 'deploy `infra/main.bicep` (it creates the queues), or correct `OUTPUT_QUEUE`',
    passes: false,
    steps: (f) => [
      { say: 'Deploy infra/main.bicep, which creates the queues and the container, or create the queue:', run: [`az storage queue create --name ${f.queue ?? '<queue>'} --account-name <account> --auth-mode login`] },
      { say: 'Or correct OUTPUT_QUEUE.' },
    ],
  },
  STORAGE_CONTAINER_NOT_FOUND: {
    said: 'Storage 404 `ContainerNotFound`',
    summary: 'deploy `infra/main.bicep` (it creates the container), or correct `OUTPUT_CONTAINER`',
    passes: false,
    steps: (f) => [
      {
        say: 'Deploy infra/main.bicep, which creates the queues and the container, or create the container:',
        run: [`az storage container create --name ${f.container ?? '<container>'} --account-name <account> --auth-mode login`],
      },
      { say: 'Or correct OUTPUT_CONTAINER.' },
    ],
  },
  STORAGE_UNREACHABLE: passing(
    'Storage did not answer in time, or could not be reached',
    'nothing: the message stays and is retried; if it persists, `OUTPUT_STORAGE` and the account\'s network rules',
    STAYS,
    "If it persists, check OUTPUT_STORAGE (or its __queueServiceUri/__blobServiceUri) and the storage account's health and network rules.",
  ),
  STORAGE_FAILED: passing('Storage 5xx after the SDK\'s retries, or another answer', 'nothing: the message stays and is retried on the next run', STAYS, "If it persists, check the storage account's health."),
};
