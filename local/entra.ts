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
 */
import { createHash, generateKeyPairSync, randomUUID, X509Certificate } from 'node:crypto';
import { startHttpFake, type FakeRequest, type JsonReply } from './httpFake.js';
import { decodeJwt, signJwt, thumbprint, verifyJwtSignature, type DecodedJwt } from './jwt.js';

export interface FakeApp {
  clientId: string;
  secret?: string;
  secretExpired?: boolean;
  /** Public certificate (PEM) whose private key signs client assertions. */
  certificatePem?: string;
  /** App roles granted, put in every token the app gets. Default ['IMAP.AccessAsApp']. */
  roles?: string[];
  /** Managed identity principal ids trusted as federated credentials (issuer: this fake). */
  federatedSubjects?: string[];
  /** False: the tenant has not consented to the app (a multi-tenant app never installed here): AADSTS65001. Default true. */
  consented?: boolean;
}

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

export interface Introspection {
  active: boolean;
  /** Why the token is not active, in verifyAccessToken's words or naming the missing role. */
  reason?: string;
  appid?: string;
}

/** Audience of a managed identity token presented as a federated credential. */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
const DEFAULT_ROLES = ['IMAP.AccessAsApp'];
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
// Entra tolerates five minutes of clock skew in client assertions; MSAL needs some, as it
// rounds its clock to the nearest second when it stamps nbf.
const ASSERTION_CLOCK_SKEW_SECONDS = 300;
const FEDERATION_HELP =
  'Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation';

type Fail = (status: number, error: string, code: number, text: string) => JsonReply;

const nowSeconds = () => Math.floor(Date.now() / 1000);
const iso = (seconds: unknown) => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : 'none');
const same = (a: unknown, b: string) => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();

/** Starts the fake on 127.0.0.1 (random port) with a certificate from the local CA. */
export async function startFakeEntra(options: {
  tenantId: string;
  apps?: FakeApp[];
  tokenLifetimeSeconds?: number;
}): Promise<FakeEntra> {
  const { tenantId } = options;
  const apps = new Map<string, { app: FakeApp; certificate?: X509Certificate }>();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // Entra's kid is its signing certificate's SHA-1 thumbprint; this key has no certificate, so the key's stands in.
  const kid = thumbprint('sha1', publicKey.export({ type: 'spki', format: 'der' }));
  let injected: { status: number; body?: object; remaining: number } | undefined;

  const server = await startHttpFake({
    tlsHostnames: ['localhost'],
    answer: handle,
    headers: () => ({ 'cache-control': 'no-store, no-cache' }),
    internalError: (error) => ({ status: 500, body: { error: 'server_error', error_description: String(error) } }),
  });
  const authorityHost = `https://localhost:${server.port}`;
  const issuer = `${authorityHost}/${tenantId}/v2.0`;
  const v1Issuer = (tid: string) => `https://sts.windows.net/${tid}/`;
  const tokenEndpoint = `${authorityHost}/${tenantId}/oauth2/v2.0/token`;

  const fake: FakeEntra = {
    authorityHost,
    tenantId,
    issuer,
    addApp(app) {
      const certificate = app.certificatePem ? new X509Certificate(app.certificatePem) : undefined;
      apps.set(app.clientId.toLowerCase(), { app, certificate });
    },
    servicePrincipalId(clientId) {
      const h = createHash('sha256').update(`service-principal:${tenantId}:${clientId}`.toLowerCase()).digest('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
    },
    issueToken(claims) {
      const now = nowSeconds();
      const tid = claims.tid ?? tenantId;
      const oid = claims.oid ?? fake.servicePrincipalId(claims.appid);
      const iss = claims.iss ?? v1Issuer(tid);
      const payload: Record<string, unknown> = {
        aud: claims.aud,
        iss,
        iat: now,
        nbf: now,
        exp: now + (claims.lifetimeSeconds ?? fake.tokenLifetimeSeconds),
        appid: claims.appid,
        appidacr: claims.appidacr ?? '1',
        idp: iss,
        idtyp: 'app',
        oid,
        sub: claims.sub ?? oid,
        tid,
        uti: randomUUID().replaceAll('-', ''),
        ver: iss === issuer ? '2.0' : '1.0',
      };
      // Entra leaves `roles` out when nothing is granted.
      if (claims.roles && claims.roles.length > 0) payload.roles = claims.roles;
      return signJwt(payload, privateKey, { x5t: kid, kid });
    },
    verifyAccessToken(token, expectedAudience) {
      const jwt = decodeJwt(token);
      if (jwt.header.alg !== 'RS256' || jwt.header.kid !== kid || !verifyJwtSignature(jwt, publicKey)) {
        throw new Error(`access token signature does not verify with this fake Entra's key (kid ${String(jwt.header.kid)})`);
      }
      const claims = jwt.payload as AccessTokenClaims;
      const now = nowSeconds();
      if (claims.iss !== v1Issuer(tenantId) && claims.iss !== issuer) {
        throw new Error(`access token issuer '${claims.iss}' is not tenant ${tenantId}`);
      }
      if (typeof claims.exp !== 'number' || claims.exp <= now) throw new Error(`access token expired at ${iso(claims.exp)}`);
      if (typeof claims.nbf === 'number' && claims.nbf > now) throw new Error(`access token not valid before ${iso(claims.nbf)}`);
      if (expectedAudience !== undefined && claims.aud !== expectedAudience) {
        throw new Error(`access token audience is '${claims.aud}', expected '${expectedAudience}'`);
      }
      return claims;
    },
    signingKey: { kid, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
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
    const fail = failWith(form.get('client-request-id') ?? randomUUID());
    const knownTenant = same(tenant, tenantId);
    const tenantNotFound = `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`;

    switch (route) {
      case 'GET v2.0/.well-known/openid-configuration':
        // Real Entra answers discovery for an unknown tenant with `invalid_tenant`; MSAL then
        // reports only that it could not get the endpoints.
        return knownTenant ? { status: 200, body: openIdConfiguration() } : fail(400, 'invalid_tenant', 90002, tenantNotFound);
      case 'GET discovery/v2.0/keys':
        return knownTenant ? { status: 200, body: jwks() } : fail(400, 'invalid_tenant', 90002, tenantNotFound);
      case 'POST oauth2/v2.0/token':
        if (injected && injected.remaining > 0) {
          injected.remaining -= 1;
          const reply = fail(injected.status, 'temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.');
          const retryAfter = injected.status === 429 || injected.status === 503 ? { 'retry-after': '1' } : undefined;
          return { status: injected.status, body: injected.body ?? reply.body, headers: retryAfter };
        }
        if (!knownTenant) return fail(400, 'invalid_request', 90002, tenantNotFound);
        return token(form, fail);
      case 'POST oauth2/introspect':
        if (!knownTenant) return fail(400, 'invalid_request', 90002, tenantNotFound);
        return introspect(form, url.searchParams, fail);
      default:
        return { status: 404, body: { error: 'not_found', error_description: `The fake Entra ID has no ${route}` } };
    }
  }

  function token(form: URLSearchParams, fail: Fail): JsonReply {
    const missing = (name: string) => fail(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);
    const grantType = form.get('grant_type');
    if (!grantType) return missing('grant_type');
    if (grantType !== 'client_credentials') {
      return fail(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`);
    }
    const clientId = form.get('client_id');
    if (!clientId) return missing('client_id');
    const registered = apps.get(clientId.toLowerCase());
    if (!registered) {
      return fail(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
    }
    const { app } = registered;
    const rejected = form.has('client_assertion') ? checkAssertion(registered, form, fail) : checkSecret(app, form, fail);
    if (rejected) return rejected;
    if (app.consented === false) {
      return fail(400, 'invalid_grant', 65001, `The user or administrator has not consented to use the application with ID '${app.clientId}'. Send an interactive authorization request for this user and resource.`);
    }

    const scope = form.get('scope');
    if (!scope) return missing('scope');
    if (!scope.endsWith('/.default')) {
      return fail(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    const resource = scope.slice(0, -'/.default'.length);
    if (!URL.canParse(resource) || !new URL(resource).host || (fake.knownResources && !fake.knownResources.has(resource))) {
      return fail(400, 'invalid_resource', 500011, `The resource principal named ${resource} was not found in the tenant named ${tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`);
    }
    const lifetime = fake.tokenLifetimeSeconds;
    const accessToken = fake.issueToken({
      aud: resource,
      appid: app.clientId,
      roles: app.roles ?? DEFAULT_ROLES,
      lifetimeSeconds: lifetime,
      appidacr: form.has('client_assertion') ? '2' : '1',
    });
    return { status: 200, body: { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken } };
  }

  /**
   * RFC 7662: an inactive token gets `{"active": false}` and nothing else, so the reason is kept
   * only in `introspections`. Arrays (roles) are included as claims; Dovecot's parser skips them.
   */
  function introspect(form: URLSearchParams, requires: URLSearchParams, fail: Fail): JsonReply {
    const token = form.get('token');
    if (!token) return fail(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'token'.");
    const audience = requires.get('audience');
    if (!audience) return fail(400, 'invalid_request', 900144, "The introspection URL must name the resource's 'audience'.");
    const role = requires.get('role');
    const inactive = (reason: string, appid?: string): JsonReply => {
      fake.introspections.push({ active: false, reason, appid });
      return { status: 200, body: { active: false } };
    };
    let claims: AccessTokenClaims;
    try {
      claims = fake.verifyAccessToken(token, audience);
    } catch (error) {
      return inactive((error as Error).message);
    }
    if (role && !claims.roles?.includes(role)) return inactive(`access token lacks the app role '${role}'`, claims.appid);
    fake.introspections.push({ active: true, appid: claims.appid });
    return { status: 200, body: { ...claims, active: true, token_type: 'Bearer', client_id: claims.appid } };
  }

  function checkSecret(app: FakeApp, form: URLSearchParams, fail: Fail): JsonReply | undefined {
    const secret = form.get('client_secret');
    if (secret === null) {
      return fail(401, 'invalid_client', 7000216, "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.");
    }
    if (app.secret === undefined || secret !== app.secret) {
      return fail(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`);
    }
    if (app.secretExpired) {
      return fail(401, 'invalid_client', 7000222, `The provided client secret keys for app '${app.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds`);
    }
    return undefined;
  }

  /** A certificate assertion (iss = sub = client id) or a federated one (iss = this fake). */
  function checkAssertion(registered: { app: FakeApp; certificate?: X509Certificate }, form: URLSearchParams, fail: Fail): JsonReply | undefined {
    const { app, certificate } = registered;
    if (form.get('client_assertion_type') !== JWT_BEARER) {
      return fail(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_assertion_type'.");
    }
    let jwt: DecodedJwt;
    try {
      jwt = decodeJwt(form.get('client_assertion') ?? '');
    } catch {
      return fail(401, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
    }
    const { header, payload } = jwt;
    const invalid = (code: number, text: string) => fail(401, 'invalid_client', code, text);

    if (payload.iss === issuer) {
      if (header.kid !== kid || !verifyJwtSignature(jwt, publicKey)) return invalid(50013, 'Assertion failed signature validation.');
      if (payload.aud !== TOKEN_EXCHANGE_AUDIENCE) {
        return invalid(700212, `No matching federated identity record found for presented assertion audience '${String(payload.aud)}'. ${FEDERATION_HELP}`);
      }
      if (!app.federatedSubjects?.includes(String(payload.sub))) {
        return invalid(700213, `No matching federated identity record found for presented assertion subject '${String(payload.sub)}'. ${FEDERATION_HELP}`);
      }
    } else if (same(payload.iss, app.clientId)) {
      if (!same(payload.sub, app.clientId)) {
        return invalid(700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .");
      }
      // MSAL names the certificate by x5t#S256 (PS256) when it has a SHA-256 thumbprint, else by x5t (RS256).
      const presented = header['x5t#S256'] ?? header.x5t;
      const registeredKey =
        certificate &&
        (header['x5t#S256'] === thumbprint('sha256', certificate.raw) || header.x5t === thumbprint('sha1', certificate.raw));
      if (!registeredKey) {
        return invalid(700027, `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${String(presented)}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${app.clientId}'.]`);
      }
      if (!verifyJwtSignature(jwt, certificate.publicKey)) return invalid(700027, 'Client assertion failed signature validation.');
      // MSAL lower-cases the authority, so the audience it signs may differ in case from ours.
      if (!same(payload.aud, tokenEndpoint)) return invalid(50012, `Client assertion audience claim does not match Realm issuer. Expected '${tokenEndpoint}'.`);
    } else {
      return invalid(700211, `No matching federated identity record found for presented assertion issuer '${String(payload.iss)}'. ${FEDERATION_HELP}`);
    }

    const now = nowSeconds();
    const skew = ASSERTION_CLOCK_SKEW_SECONDS;
    if (typeof payload.exp !== 'number' || payload.exp <= now - skew || (typeof payload.nbf === 'number' && payload.nbf > now + skew)) {
      return invalid(700024, `Client assertion is not within its valid time range. Current time: ${iso(now)}, assertion valid from ${iso(payload.nbf)}, expiry time of assertion ${iso(payload.exp)}. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .`);
    }
    return undefined;
  }

  /** Entra's error body: the AADSTS code leads error_description, and trace, correlation and time follow it. */
  function failWith(correlationId: string): Fail {
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

  function openIdConfiguration() {
    const base = `${authorityHost}/${tenantId}`;
    // MSAL requires authorization_endpoint, token_endpoint, issuer and jwks_uri, and accepts
    // the issuer only on the authority's own host.
    return {
      token_endpoint: tokenEndpoint,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer,
      request_uri_parameter_supported: false,
      userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'tid', 'ver', 'oid', 'roles'],
      kerberos_endpoint: `${base}/kerberos`,
      tenant_region_scope: null,
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  }

  function jwks() {
    const { n, e } = publicKey.export({ format: 'jwk' });
    return { keys: [{ kty: 'RSA', use: 'sig', kid, x5t: kid, n, e, issuer }] };
  }

  return fake;
}
