/**
 * How an app proves who it is at the token endpoint: a client secret, a
 * certificate assertion (a JWT it signs, iss = sub = its client id) or a
 * federated assertion (a managed identity token from this fake, matched by
 * issuer, audience and subject). Each refusal has Entra's AADSTS code.
 */
import type { JsonReply } from '../httpFake.js';
import type { AccessTokens } from './accessTokens.js';
import type { FakeApp, RegisteredApp } from './directory.js';
import type { Fail } from './entraError.js';
import { decodeJwt, isoTime, nowSeconds, thumbprint, verifyJwtSignature, type DecodedJwt } from './jwt.js';

/** Audience of a managed identity token presented as a federated credential. */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
// Entra tolerates five minutes of clock skew in client assertions; MSAL needs some, as it
// rounds its clock to the nearest second when it stamps nbf.
const ASSERTION_CLOCK_SKEW_SECONDS = 300;
const FEDERATION_HELP =
  'Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation';

/** What checking an assertion needs of the tenant. */
export interface AssertionContext {
  /** The tenant's v2 issuer: federated assertions come from it. */
  issuer: string;
  /** Certificate assertions are addressed to it. */
  tokenEndpoint: string;
  /** Federated assertions are signed with its key. */
  tokens: AccessTokens;
}

const same = (a: unknown, b: string) => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();

/** Undefined when the form authenticates `registered`, else the error reply. */
export function authenticateClient(registered: RegisteredApp, form: URLSearchParams, fail: Fail, tenant: AssertionContext): JsonReply | undefined {
  return form.has('client_assertion') ? checkAssertion(registered, form, fail, tenant) : checkSecret(registered.app, form, fail);
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
function checkAssertion(registered: RegisteredApp, form: URLSearchParams, fail: Fail, tenant: AssertionContext): JsonReply | undefined {
  const { app, certificate } = registered;
  const { issuer, tokenEndpoint, tokens } = tenant;
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
    if (!tokens.signed(jwt)) return invalid(50013, 'Assertion failed signature validation.');
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
    return invalid(700024, `Client assertion is not within its valid time range. Current time: ${isoTime(now)}, assertion valid from ${isoTime(payload.nbf)}, expiry time of assertion ${isoTime(payload.exp)}. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .`);
  }
  return undefined;
}
