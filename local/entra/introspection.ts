/**
 * Token introspection (RFC 7662) for resource servers that validate tokens
 * remotely: the local Dovecot standing in for Exchange Online, which validates
 * its tokens itself (Entra has no such endpoint).
 */
import type { JsonReply } from '../httpFake.js';
import type { AccessTokenClaims, AccessTokens } from './accessTokens.js';
import type { Fail } from './entraError.js';

export interface Introspection {
  active: boolean;
  /** Why the token is not active, in verifyAccessToken's words or naming the missing role. */
  reason?: string;
  appid?: string;
}

/**
 * Answers a POST of `token=...` for a resource server that requires `audience`
 * and, if given, `role` (the introspection URL's query). An inactive token gets
 * `{"active": false}` and nothing else, so the reason is kept only in `log`.
 * Arrays (roles) are included as claims; Dovecot's parser skips them.
 */
export function introspect(form: URLSearchParams, requires: URLSearchParams, fail: Fail, tokens: AccessTokens, log: Introspection[]): JsonReply {
  const token = form.get('token');
  if (!token) return fail(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'token'.");
  const audience = requires.get('audience');
  if (!audience) return fail(400, 'invalid_request', 900144, "The introspection URL must name the resource's 'audience'.");
  const role = requires.get('role');
  const inactive = (reason: string, appid?: string): JsonReply => {
    log.push({ active: false, reason, appid });
    return { status: 200, body: { active: false } };
  };
  let claims: AccessTokenClaims;
  try {
    claims = tokens.verify(token, audience);
  } catch (error) {
    return inactive((error as Error).message);
  }
  if (role && !claims.roles?.includes(role)) return inactive(`access token lacks the app role '${role}'`, claims.appid);
  log.push({ active: true, appid: claims.appid });
  return { status: 200, body: { ...claims, active: true, token_type: 'Bearer', client_id: claims.appid } };
}
