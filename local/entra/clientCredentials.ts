/**
 * The client credentials grant (`POST {tenant}/oauth2/v2.0/token`): the app
 * authenticates, asks for `{resource}/.default`, and gets an access token for
 * that resource with the app roles it was granted. Refusals are Entra's.
 */
import type { JsonReply } from '../httpFake.js';
import { authenticateClient, type AssertionContext } from './clientAuthentication.js';
import type { Directory } from './directory.js';
import type { Fail } from './entraError.js';

/** What the grant needs of the tenant. */
export interface ClientCredentialsContext extends AssertionContext {
  tenantId: string;
  directory: Directory;
  /** The fake's settings at the time of the request: tests change them between requests. */
  tokenLifetimeSeconds: number;
  knownResources?: Set<string>;
}

const DEFAULT_ROLES = ['IMAP.AccessAsApp'];

/** The token reply to a token request's form, or Entra's error for it. */
export function clientCredentialsGrant(form: URLSearchParams, fail: Fail, tenant: ClientCredentialsContext): JsonReply {
  const { tenantId, directory } = tenant;
  const missing = (name: string) => fail(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);
  const grantType = form.get('grant_type');
  if (!grantType) return missing('grant_type');
  if (grantType !== 'client_credentials') {
    return fail(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`);
  }
  const clientId = form.get('client_id');
  if (!clientId) return missing('client_id');
  const registered = directory.find(clientId);
  if (!registered) {
    return fail(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
  }
  const { app } = registered;
  const rejected = authenticateClient(registered, form, fail, tenant);
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
  if (!URL.canParse(resource) || !new URL(resource).host || (tenant.knownResources && !tenant.knownResources.has(resource))) {
    return fail(400, 'invalid_resource', 500011, `The resource principal named ${resource} was not found in the tenant named ${tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`);
  }
  const lifetime = tenant.tokenLifetimeSeconds;
  const accessToken = tenant.tokens.issue({
    aud: resource,
    appid: app.clientId,
    oid: directory.servicePrincipalId(app.clientId),
    roles: app.roles ?? DEFAULT_ROLES,
    lifetimeSeconds: lifetime,
    appidacr: form.has('client_assertion') ? '2' : '1',
  });
  return { status: 200, body: { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken } };
}
