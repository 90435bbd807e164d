/**
 * A fake Microsoft Entra ID for app-only tokens (OAuth 2.0 client credentials).
 *
 * It answers what MSAL, inside the real @azure/identity credentials, asks for:
 *   GET  /{tenant}/v2.0/.well-known/openid-configuration  authority metadata, fetched before the first token
 *   GET  /{tenant}/discovery/v2.0/keys                     the signing key (JWKS)
 *   POST /{tenant}/oauth2/v2.0/token                       client_credentials with a client secret, a
 *                                                          certificate assertion or a federated assertion
 * and, for resource servers that validate tokens remotely (the local Dovecot standing in for
 * Exchange Online, which validates its tokens itself; Entra has no such endpoint):
 *   POST /{tenant}/oauth2/introspect?audience=..&role=..  token introspection (RFC 7662)
 * Failures carry Entra's JSON error shape and AADSTS codes: that is what callers map to remedies.
 *
 * MSAL sends instance discovery to login.microsoftonline.com whatever the authority,
 * so credentials pointed here need `disableInstanceDiscovery: true`.
 *
 * This file routes the requests and holds the tenant's state; each endpoint, the
 * directory, the signing key and the error shape are under local/entra/.
 */
import { randomUUID } from 'node:crypto';
import { startHttpFake, type FakeRequest, type JsonReply } from './httpFake.js';
import { AccessTokens, type AccessTokenClaims, type IssueTokenClaims } from './entra/accessTokens.js';
import { clientCredentialsGrant } from './entra/clientCredentials.js';
import { Directory, type FakeApp } from './entra/directory.js';
import { entraError } from './entra/entraError.js';
import { introspect, type Introspection } from './entra/introspection.js';
import { openIdConfiguration } from './entra/openIdConfiguration.js';

// The types of this module's API, wherever they are defined, so callers import the fake from one place.
export type { AccessTokenClaims, FakeApp, Introspection, IssueTokenClaims };
export { TOKEN_EXCHANGE_AUDIENCE } from './entra/clientAuthentication.js';

export interface FakeEntra {
  /** 'https://localhost:PORT', for `authorityHost` / AZURE_AUTHORITY_HOST. */
  authorityHost: string;
  tenantId: string;
  /** The v2 issuer, `${authorityHost}/${tenantId}/v2.0`: `iss` of federated (token exchange) tokens. */
  issuer: string;
  /** Adds an app registration, or replaces the one with the same clientId (credential rotation). */
  addApp(app: FakeApp): void;
  /** Object id of an app's (or managed identity's) service principal: a stable GUID derived from its client id. */
  servicePrincipalId(clientId: string): string;
  /** An RS256 access token signed by this fake's key. */
  issueToken(claims: IssueTokenClaims): string;
  /**
   * Checks signature, issuer, lifetime and (if given) audience; throws an Error saying what is wrong.
   * No clock skew is allowed, so a token issued with `lifetimeSeconds: -1` is expired at once.
   */
  verifyAccessToken(token: string, expectedAudience?: string): AccessTokenClaims;
  /** The signing key, for validators configured with a static key (PEM, SPKI) and its `kid`. */
  signingKey: { kid: string; publicKeyPem: string };
  /** Lifetime of tokens issued from now on. Default 3600. Under 300 s MSAL never serves them from its cache. */
  tokenLifetimeSeconds: number;
  /**
   * Resources (e.g. 'https://outlook.office365.com') whose service principal exists in the
   * tenant; a token for any other is AADSTS500011. Undefined: every resource exists.
   */
  knownResources?: Set<string>;
  /** The next `count` (default 1) token requests get `status` (e.g. 503, or 429 with Retry-After) and `body`. */
  failNext(status: number, body?: object, count?: number): void;
  /** Every request, in order; never secrets or assertions. */
  requests: { path: string; grantType?: string; clientId?: string; scope?: string }[];
  /**
   * The introspection endpoint (RFC 7662) for a resource server that accepts tokens with this
   * audience and, if given, this app role. A POST of `token=...` answers `{"active": true, ...claims}`
   * when the signature, issuer, lifetime, audience and role all check out, else `{"active": false}`.
   */
  introspectionUrl(requires: { audience: string; role?: string }): string;
  /** Every introspection answered, in order, with the reason for an inactive answer; never the token. */
  introspections: Introspection[];
  close(): Promise<void>;
}

/** Starts the fake on 127.0.0.1 (random port) with a certificate from the local CA. */
export async function startFakeEntra(options: {
  tenantId: string;
  apps?: FakeApp[];
  tokenLifetimeSeconds?: number;
}): Promise<FakeEntra> {
  const { tenantId } = options;
  const directory = new Directory(tenantId);
  let injected: { status: number; body?: object; remaining: number } | undefined;

  const server = await startHttpFake({
    tlsHostnames: ['localhost'],
    answer: handle,
    headers: () => ({ 'cache-control': 'no-store, no-cache' }),
    internalError: (error) => ({ status: 500, body: { error: 'server_error', error_description: String(error) } }),
  });
  const authorityHost = `https://localhost:${server.port}`;
  const issuer = `${authorityHost}/${tenantId}/v2.0`;
  const tokenEndpoint = `${authorityHost}/${tenantId}/oauth2/v2.0/token`;
  const tokens = new AccessTokens(tenantId, issuer);

  const fake: FakeEntra = {
    authorityHost,
    tenantId,
    issuer,
    addApp: (app) => directory.add(app),
    servicePrincipalId: (clientId) => directory.servicePrincipalId(clientId),
    issueToken: (claims) =>
      tokens.issue({
        ...claims,
        oid: claims.oid ?? directory.servicePrincipalId(claims.appid),
        lifetimeSeconds: claims.lifetimeSeconds ?? fake.tokenLifetimeSeconds,
      }),
    verifyAccessToken: (token, expectedAudience) => tokens.verify(token, expectedAudience),
    signingKey: tokens.signingKey,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3600,
    failNext(status, body, count = 1) {
      injected = { status, body, remaining: count };
    },
    requests: [],
    introspectionUrl({ audience, role }) {
      const query = new URLSearchParams({ audience, ...(role ? { role } : {}) });
      return `${authorityHost}/${tenantId}/oauth2/introspect?${query}`;
    },
    introspections: [],
    close: () => server.close(),
  };
  for (const app of options.apps ?? []) fake.addApp(app);

  function handle(req: FakeRequest): JsonReply {
    const { url } = req;
    const [tenant = '', ...rest] = url.pathname.split('/').filter(Boolean);
    const route = `${req.method} ${rest.join('/')}`;
    const form = new URLSearchParams(req.method === 'POST' ? req.body : '');
    fake.requests.push({
      path: url.pathname,
      grantType: form.get('grant_type') ?? undefined,
      clientId: form.get('client_id') ?? undefined,
      scope: form.get('scope') ?? undefined,
    });
    const fail = entraError(authorityHost, form.get('client-request-id') ?? randomUUID());
    const knownTenant = tenant.toLowerCase() === tenantId.toLowerCase();
    const tenantNotFound = `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`;

    switch (route) {
      case 'GET v2.0/.well-known/openid-configuration':
        // Real Entra answers discovery for an unknown tenant with `invalid_tenant`; MSAL then
        // reports only that it could not get the endpoints.
        return knownTenant ? { status: 200, body: openIdConfiguration({ authorityHost, tenantId, issuer }) } : fail(400, 'invalid_tenant', 90002, tenantNotFound);
      case 'GET discovery/v2.0/keys':
        return knownTenant ? { status: 200, body: tokens.jwks() } : fail(400, 'invalid_tenant', 90002, tenantNotFound);
      case 'POST oauth2/v2.0/token':
        if (injected && injected.remaining > 0) {
          injected.remaining -= 1;
          const reply = fail(injected.status, 'temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.');
          const retryAfter = injected.status === 429 || injected.status === 503 ? { 'retry-after': '1' } : undefined;
          return { status: injected.status, body: injected.body ?? reply.body, headers: retryAfter };
        }
        if (!knownTenant) return fail(400, 'invalid_request', 90002, tenantNotFound);
        return clientCredentialsGrant(form, fail, {
          tenantId,
          directory,
          issuer,
          tokenEndpoint,
          tokens,
          tokenLifetimeSeconds: fake.tokenLifetimeSeconds,
          knownResources: fake.knownResources,
        });
      case 'POST oauth2/introspect':
        if (!knownTenant) return fail(400, 'invalid_request', 90002, tenantNotFound);
        return introspect(form, url.searchParams, fail, tokens, fake.introspections);
      default:
        return { status: 404, body: { error: 'not_found', error_description: `The fake Entra ID has no ${route}` } };
    }
  }

  return fake;
}
