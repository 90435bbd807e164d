/**
 * Compact JWTs signed and checked with node:crypto, for the local Entra fakes.
 *
 * Only what the fakes need: sign RS256 (what Entra signs access tokens with),
 * and verify RS256 or PS256, because MSAL signs certificate assertions with
 * PS256 whenever it has the certificate's SHA-256 thumbprint, which
 * @azure/identity always passes.
 */
import { constants, createHash, sign, verify, type KeyObject } from 'node:crypto';

export interface JwtHeader {
  alg: string;
  typ?: string;
  kid?: string;
  x5t?: string;
  'x5t#S256'?: string;
  [name: string]: unknown;
}

export interface DecodedJwt {
  header: JwtHeader;
  payload: Record<string, unknown>;
  /** `base64url(header).base64url(payload)`: the bytes the signature covers. */
  signingInput: string;
  signature: Buffer;
}

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Now as a NumericDate (RFC 7519): whole seconds since the epoch, as `iat`, `nbf` and `exp` count. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A NumericDate claim in ISO 8601, for error messages: 'none' when it is absent or not a number. */
export function isoTime(seconds: unknown): string {
  return typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : 'none';
}

/** Signs `payload` with RS256. `header` adds fields such as `kid` and `x5t`. */
export function signJwt(
  payload: Record<string, unknown>,
  privateKey: KeyObject,
  header: Omit<JwtHeader, 'alg'> = {},
): string {
  const signingInput = `${encode({ typ: 'JWT', alg: 'RS256', ...header })}.${encode(payload)}`;
  const signature = sign('sha256', Buffer.from(signingInput), privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

/** Splits and parses a compact JWT without checking it. Throws on anything that is not one. */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('not a compact JWT (expected three dot-separated parts)');
  const [header, payload, signature] = parts as [string, string, string];
  try {
    return {
      header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')),
      payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')),
      signingInput: `${header}.${payload}`,
      signature: Buffer.from(signature, 'base64url'),
    };
  } catch {
    throw new Error('not a compact JWT (header or payload is not base64url JSON)');
  }
}

/** True when the signature verifies with `publicKey` under the header's RS256 or PS256. */
export function verifyJwtSignature(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  const data = Buffer.from(jwt.signingInput);
  switch (jwt.header.alg) {
    case 'RS256':
      return verify('sha256', data, publicKey, jwt.signature);
    case 'PS256':
      return verify(
        'sha256',
        data,
        { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
        jwt.signature,
      );
    default:
      return false;
  }
}

/** base64url of a hash of `data`: the form of JOSE thumbprints (`x5t`, `x5t#S256`). */
export function thumbprint(algorithm: 'sha1' | 'sha256', data: Buffer): string {
  return createHash(algorithm).update(data).digest('base64url');
}
