/**
 * A fake App Service / Azure Functions managed identity endpoint: the 2019-08-01
 * protocol behind IDENTITY_ENDPOINT, over plain HTTP like the real one.
 *
 *   GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=...[&client_id=...|&object_id=...]
 *   X-IDENTITY-HEADER: {IDENTITY_HEADER}
 *
 * Tokens come from the fake Entra, so the resources that receive them verify them as usual.
 *
 * MSAL, behind ManagedIdentityCredential, reads IDENTITY_ENDPOINT and IDENTITY_HEADER at
 * the first token request and keeps that source in a static for the life of the process;
 * its managed identity token cache is process-wide too. So: one fake per process, with
 * env() applied before the first token request.
 */
import { randomUUID } from 'node:crypto';
import { TOKEN_EXCHANGE_AUDIENCE, type FakeEntra } from './entra.js';
import { startHttpFake, type FakeRequest, type JsonReply } from './httpFake.js';

export interface FakeManagedIdentity {
  /** http://127.0.0.1:PORT/msi/token */
  endpoint: string;
  /** The IDENTITY_HEADER secret. */
  header: string;
  clientId: string;
  principalId: string;
  /** IDENTITY_ENDPOINT, IDENTITY_HEADER and AZURE_CLIENT_ID, as App Service sets them. */
  env(): Record<string, string>;
  /** Every token request, in order. */
  requests: { resource: string; clientId?: string }[];
  close(): Promise<void>;
}

const API_VERSION = '2019-08-01';

/**
 * Starts the endpoint for one user-assigned identity (requests must name it by client_id or
 * object_id), or, with `systemAssigned`, one that also answers requests that name none.
 */
export async function startFakeManagedIdentity(options: {
  entra: FakeEntra;
  clientId: string;
  principalId?: string;
  systemAssigned?: boolean;
}): Promise<FakeManagedIdentity> {
  const { entra, clientId } = options;
  const principalId = options.principalId ?? entra.servicePrincipalId(clientId);
  const header = randomUUID();
  const requests: FakeManagedIdentity['requests'] = [];

  const server = await startHttpFake({ answer });
  const endpoint = `http://127.0.0.1:${server.port}/msi/token`;

  function answer(req: FakeRequest): JsonReply {
    if (req.method !== 'GET' || req.url.pathname !== '/msi/token') return failure(404, 'Not Found');
    const query = req.url.searchParams;
    const resource = query.get('resource');
    requests.push({ resource: resource ?? '', clientId: query.get('client_id') ?? undefined });

    // The messages below follow App Service's { statusCode, message, correlationId } shape;
    // only "Unable to load the proper Managed Identity." is App Service's exact wording.
    const secret = req.headers['x-identity-header'];
    if (secret === undefined) return failure(400, 'The X-IDENTITY-HEADER header is required.');
    if (secret !== header) return failure(401, 'Unauthorized: the X-IDENTITY-HEADER value is not this instance\'s IDENTITY_HEADER.');
    if (query.get('api-version') !== API_VERSION) return failure(400, `Unsupported api-version; this endpoint speaks ${API_VERSION}.`);
    if (!resource) return failure(400, 'The resource parameter is required.');

    const named = query.get('client_id') ?? query.get('object_id') ?? query.get('mi_res_id');
    const selected = named === null ? options.systemAssigned === true : [clientId, principalId].some((id) => id.toLowerCase() === named.toLowerCase());
    if (!selected) return failure(400, 'Unable to load the proper Managed Identity.');

    // A token for the token-exchange audience is a federated credential: Entra matches it by
    // issuer and subject, so it carries the v2 issuer and the principal id as `sub`.
    const exchange = resource === TOKEN_EXCHANGE_AUDIENCE ? { iss: entra.issuer, sub: principalId } : {};
    const lifetime = entra.tokenLifetimeSeconds;
    return {
      status: 200,
      body: {
        access_token: entra.issueToken({ aud: resource, appid: clientId, oid: principalId, roles: [], lifetimeSeconds: lifetime, ...exchange }),
        // Unix seconds as a string, as App Service sends it.
        expires_on: String(Math.floor(Date.now() / 1000) + lifetime),
        resource,
        token_type: 'Bearer',
        client_id: clientId,
      },
    };
  }

  return {
    endpoint,
    header,
    clientId,
    principalId,
    env: () => ({ IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: header, AZURE_CLIENT_ID: clientId }),
    requests,
    close: () => server.close(),
  };
}

function failure(statusCode: number, message: string): JsonReply {
  return { status: statusCode, body: { statusCode, message, correlationId: randomUUID() } };
}
