import { DrainError } from '../../errors/errors.js';
import type { Facts } from '../../errors/facts.js';

/** The claims of the app-only token that matter to Exchange Online. */
export interface TokenClaims {
  aud?: string;
  roles: string[];
  tid?: string;
  appid?: string;
  /** Object ID of the app's service principal: the Enterprise application's object ID. */
  oid?: string;
  exp?: number;
}

/**
 * The payload of a JWT access token, decoded without verification (Exchange
 * verifies it; this only reads what it says). Throws without quoting the token.
 */
export function tokenClaims(token: string, facts: Facts = {}): TokenClaims {
  const payload = token.split('.')[1];
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof claims !== 'object' || claims === null) throw new TypeError('not an object');
  } catch {
    throw new DrainError('ENTRA_TOKEN_MISMATCH', 'The access token from Entra ID is not a JWT, so what it grants cannot be shown.', facts);
  }
  const text = (name: string) => (typeof claims[name] === 'string' ? (claims[name] as string) : undefined);
  return {
    aud: text('aud'),
    roles: Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [],
    tid: text('tid'),
    appid: text('appid') ?? text('azp'),
    oid: text('oid'),
    exp: typeof claims.exp === 'number' ? claims.exp : undefined,
  };
}
