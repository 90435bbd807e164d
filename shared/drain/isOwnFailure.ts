/** Whose a failed hand-off is: the message's own, counted towards MAX_ATTEMPTS, or a passing one. */
import { isDrainError } from '../errors/errors.js';

/**
 * Storage's answers that refuse what this message made of a request (a header,
 * a size) rather than the request's reaching Storage at all.
 */
const REFUSED_FOR_CONTENT = new Set([400, 413, 414, 431]);

/**
 * Whether a failure is the message's own. Storage and the network failing
 * (401, 403, 404, 5xx, timeouts, resets) and the IMAP session ending are not:
 * they pass, or need a person, and any message would have failed the same way.
 * A message the server will not return, a request Storage refuses for what the
 * message put in it, or an error of our own code on this message's content is.
 */
export function isOwnFailure(error: unknown): boolean {
  if (!isDrainError(error)) return true;
  if (error.code === 'IMAP_MESSAGE_UNREADABLE') return true;
  if (error.code.startsWith('STORAGE_')) {
    const status = (error.cause as { statusCode?: number } | undefined)?.statusCode;
    return status !== undefined && REFUSED_FOR_CONTENT.has(status);
  }
  return false;
}
