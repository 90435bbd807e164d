/**
 * Entra's error replies: the OAuth 2.0 error, with the AADSTS code leading
 * error_description and trace, correlation and time following it. Callers map
 * these codes to remedies, so the fake keeps Entra's shape exactly.
 */
import { randomUUID } from 'node:crypto';
import type { JsonReply } from '../httpFake.js';

/** An error reply: HTTP status, OAuth `error`, AADSTS code and its text. */
export type Fail = (status: number, error: string, code: number, text: string) => JsonReply;

/** The error replies for one request, carrying the correlation id the client sent (MSAL's client-request-id). */
export function entraError(authorityHost: string, correlationId: string): Fail {
  return (status, error, code, text) => {
    const traceId = randomUUID();
    const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    return {
      status,
      body: {
        error,
        error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
        error_codes: [code],
        timestamp,
        trace_id: traceId,
        correlation_id: correlationId,
        error_uri: `${authorityHost}/error?code=${code}`,
      },
    };
  };
}
