/**
 * The fake tenant's signing key and the access tokens it signs: issued with the
 * claims Entra puts in app-only tokens, checked the way a resource server checks
 * them, and the key published as Entra publishes it (JWKS).
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { decodeJwt, isoTime, nowSeconds, signJwt, thumbprint, verifyJwtSignature, type DecodedJwt } from './jwt.js';

export interface AccessTokenClaims {
  aud: string;
  iss: string;
  tid: string;
  appid: string;
  oid: string;
  roles?: string[];
  exp: number;
  iat: number;
  nbf: number;
  [k: string]: unknown;
}

export interface IssueTokenClaims {
  aud: string;
  appid: string;
  /** Default: the app's service principal id (`servicePrincipalId(appid)`). */
  oid?: string;
  roles?: string[];
  /** Default: `tokenLifetimeSeconds`. */
  lifetimeSeconds?: number;
  tid?: string;
  /** Default: the v1 issuer `https://sts.windows.net/{tid}/`, as in Exchange and Key Vault tokens. */
  iss?: string;
  /** Default: the oid. */
  sub?: string;
  /** How the app authenticated: '1' secret, '2' certificate or assertion. */
  appidacr?: string;
}

const v1Issuer = (tid: string) => `https://sts.windows.net/${tid}/`;

/** One tenant's signing key, and the access tokens it signs and checks. */
export class AccessTokens {
  /** Entra's kid is its signing certificate's SHA-1 thumbprint; this key has no certificate, so the key's stands in. */
  readonly kid: string;
  /** The signing key, for validators configured with a static key (PEM, SPKI) and its `kid`. */
  readonly signingKey: { kid: string; publicKeyPem: string };
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;

  /** `issuer` is the tenant's v2 issuer; tokens carry it when asked to, else the v1 one. */
  constructor(
    private readonly tenantId: string,
    private readonly issuer: string,
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.kid = thumbprint('sha1', publicKey.export({ type: 'spki', format: 'der' }));
    this.signingKey = { kid: this.kid, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
  }

  /** An RS256 access token. The object id and lifetime are the caller's to choose: they depend on the directory and the fake's settings. */
  issue(claims: IssueTokenClaims & { oid: string; lifetimeSeconds: number }): string {
    const now = nowSeconds();
    const tid = claims.tid ?? this.tenantId;
    const { oid } = claims;
    const iss = claims.iss ?? v1Issuer(tid);
    const payload: Record<string, unknown> = {
      aud: claims.aud,
      iss,
      iat: now,
      nbf: now,
      exp: now + claims.lifetimeSeconds,
      appid: claims.appid,
      appidacr: claims.appidacr ?? '1',
      idp: iss,
      idtyp: 'app',
      oid,
      sub: claims.sub ?? oid,
      tid,
      uti: randomUUID().replaceAll('-', ''),
      ver: iss === this.issuer ? '2.0' : '1.0',
    };
    // Entra leaves `roles` out when nothing is granted.
    if (claims.roles && claims.roles.length > 0) payload.roles = claims.roles;
    return signJwt(payload, this.privateKey, { x5t: this.kid, kid: this.kid });
  }

  /**
   * Checks signature, issuer, lifetime and (if given) audience; throws an Error saying what is wrong.
   * No clock skew is allowed, so a token issued with `lifetimeSeconds: -1` is expired at once.
   */
  verify(token: string, expectedAudience?: string): AccessTokenClaims {
    const jwt = decodeJwt(token);
    if (jwt.header.alg !== 'RS256' || !this.signed(jwt)) {
      throw new Error(`access token signature does not verify with this fake Entra's key (kid ${String(jwt.header.kid)})`);
    }
    const claims = jwt.payload as AccessTokenClaims;
    const now = nowSeconds();
    if (claims.iss !== v1Issuer(this.tenantId) && claims.iss !== this.issuer) {
      throw new Error(`access token issuer '${claims.iss}' is not tenant ${this.tenantId}`);
    }
    if (typeof claims.exp !== 'number' || claims.exp <= now) throw new Error(`access token expired at ${isoTime(claims.exp)}`);
    if (typeof claims.nbf === 'number' && claims.nbf > now) throw new Error(`access token not valid before ${isoTime(claims.nbf)}`);
    if (expectedAudience !== undefined && claims.aud !== expectedAudience) {
      throw new Error(`access token audience is '${claims.aud}', expected '${expectedAudience}'`);
    }
    return claims;
  }

  /** True when `jwt` names this key and its signature verifies with it (whatever its claims say). */
  signed(jwt: DecodedJwt): boolean {
    return jwt.header.kid === this.kid && verifyJwtSignature(jwt, this.publicKey);
  }

  /** The document at `discovery/v2.0/keys`. */
  jwks(): { keys: object[] } {
    const { n, e } = this.publicKey.export({ format: 'jwk' });
    return { keys: [{ kty: 'RSA', use: 'sig', kid: this.kid, x5t: this.kid, n, e, issuer: this.issuer }] };
  }
}
