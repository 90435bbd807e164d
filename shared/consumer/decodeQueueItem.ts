/**
 * What a queue hands a consumer, as the JSON value it carries. The drain sends
 * UTF-8 JSON, base64-encoded; depending on who receives it, that arrives as:
 * - an object: the Functions queue trigger decodes the base64 and, the text
 *   being JSON, hands over the parsed object;
 * - a string: the base64 text (QueueClient's `messageText`, or a trigger with
 *   `messageEncoding: none`), or the JSON text itself;
 * - a Buffer or Uint8Array of either;
 * - a QueueClient ReceivedMessageItem or PeekedMessageItem (`{ messageText }`).
 */
import { ConsumerError } from './consumerError.js';

/** Strict base64 (the alphabet Storage carries, with its padding): anything else is not what the drain sent. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function decodeQueueItem(item: unknown): unknown {
  if (typeof item === 'string') return decodeText(item);
  if (item instanceof Uint8Array) return decodeText(Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('utf8'));
  if (typeof item === 'object' && item !== null) {
    const { messageText } = item as { messageText?: unknown };
    // A mail message has no messageText field (the schema is strict): this is the queue's item around it.
    if (typeof messageText === 'string') return decodeText(messageText);
    return item;
  }
  throw malformed(`a queue item must be an object, a string or bytes, not ${item === null ? 'null' : typeof item}`);
}

function decodeText(text: string): unknown {
  const trimmed = text.trim();
  // JSON of an object starts with "{"; its base64 never does ("{" is not in the alphabet).
  if (trimmed.startsWith('{')) return parseJson(trimmed, 'JSON');
  const compact = trimmed.replace(/\s+/g, '');
  if (compact === '' || !BASE64.test(compact)) throw malformed('the queue item is neither JSON nor base64-encoded JSON');
  return parseJson(Buffer.from(compact, 'base64').toString('utf8'), 'base64-encoded JSON');
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw malformed(`the queue item is not valid ${what} (${(error as Error).message})`, error);
  }
}

function malformed(message: string, cause?: unknown): ConsumerError {
  return new ConsumerError('CONSUMER_ITEM_MALFORMED', `Not a mail-drain queue message: ${message}.`, {}, { cause });
}
