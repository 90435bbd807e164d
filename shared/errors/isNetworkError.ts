import { codeChain } from './errorChain.js';

// Node's socket and DNS codes, and @azure/core-rest-pipeline's for a request that never got an answer.
const NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'REQUEST_SEND_ERROR']);

/** True when the request never reached the service, or its answer never came back. */
export function isNetworkError(error: unknown): boolean {
  return codeChain(error).some((c) => NETWORK_CODES.has(c));
}
