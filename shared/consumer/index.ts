/**
 * mail-drain/consumer: what a consumer of the output queue imports (package.json
 * "exports"). It uses the contract and nothing of the drain.
 */
export { readMailMessage, type ConsumedMail, type MailAttachment, type ReadOptions } from './readMailMessage.js';
export type { BlobAccess } from './blobClientFor.js';
export type { MailBlob } from './verifiedBlob.js';
export { ConsumerError, isConsumerError, type ConsumerErrorCode, type ConsumerFacts } from './consumerError.js';
export { CONSUMER_REMEDIES } from './consumerRemedies.js';
export { isDoctorProbe } from '../contract/doctorProbe.js';
export { messageKey, queueMessageSchema, SCHEMA_VERSION } from '../contract/queueMessage.js';
export type { Address, Attachment, EnvelopeMessage, MailMessage, QueueMessage } from '../contract/queueMessage.js';
