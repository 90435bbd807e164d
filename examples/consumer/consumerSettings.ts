/**
 * The sample consumer's app settings, read once (a consumer's own app has its
 * own settings module; this one reads only these):
 *
 *   MAIL_QUEUE      the drain's output queue (OUTPUT_QUEUE), the trigger's queueName
 *   MAIL_STORAGE    the drain's output account: a connection string, or
 *                   MAIL_STORAGE__queueServiceUri and MAIL_STORAGE__blobServiceUri
 *                   with the consumer's identity (MAIL_STORAGE__clientId for a
 *                   user-assigned one): Storage Queue Data Message Processor on the
 *                   queue, Storage Blob Data Reader on the container (consumerPrincipalId
 *                   in infra/main.bicep grants both)
 *   DEDUP_STORAGE   the consumer's own account for its ledger: a connection string, or
 *                   DEDUP_STORAGE__tableServiceUri (Storage Table Data Contributor)
 *   DEDUP_TABLE     the ledger's table, default processedmail
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { TableClient } from '@azure/data-tables';
import type { BlobAccess } from '../../shared/consumer/index.js';

export interface ConsumerSettings {
  blobs: BlobAccess;
  table: TableClient;
}

export function consumerSettings(env: NodeJS.ProcessEnv): ConsumerSettings {
  // Every missing setting named at once, before anything is built from them.
  const missing = [
    'MAIL_QUEUE',
    env.MAIL_STORAGE ? 'MAIL_STORAGE' : 'MAIL_STORAGE__blobServiceUri',
    env.DEDUP_STORAGE ? 'DEDUP_STORAGE' : 'DEDUP_STORAGE__tableServiceUri',
  ].filter((name) => !env[name]);
  if (missing.length) throw new Error(`The sample consumer needs these app settings: ${missing.join(', ')} (see examples/consumer/consumerSettings.ts).`);

  let credential: TokenCredential | undefined;
  const identity = () => (credential ??= env.MAIL_STORAGE__clientId ? new ManagedIdentityCredential({ clientId: env.MAIL_STORAGE__clientId }) : new DefaultAzureCredential());
  const blobs: BlobAccess = env.MAIL_STORAGE ? env.MAIL_STORAGE : new BlobServiceClient(env.MAIL_STORAGE__blobServiceUri!, identity());
  const tableName = env.DEDUP_TABLE || 'processedmail';
  const table = env.DEDUP_STORAGE
    ? // Azurite speaks http; the SDK refuses that unless told, and only for a local connection string.
      TableClient.fromConnectionString(env.DEDUP_STORAGE, tableName, { allowInsecureConnection: /(^|;)(TableEndpoint=http:|DefaultEndpointsProtocol=http;)/i.test(env.DEDUP_STORAGE) })
    : new TableClient(env.DEDUP_STORAGE__tableServiceUri!, tableName, identity());
  return { blobs, table };
}
