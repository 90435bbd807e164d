import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ClientAssertionCredential, DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { startFakeEntra } from '../../local/entra.js';
import { startFakeManagedIdentity } from '../../local/managedIdentity.js';

const tenantId = '7d3f1a52-0c4e-4b8e-9a61-2f5d8c0b9e13';
const identityClientId = '1dc11dc1-1111-4222-8333-444455556666';
const appClientId = 'c0ffee00-1111-4222-8333-444455556666';
const outlook = 'https://outlook.office365.com';

const entra = await startFakeEntra({ tenantId });
const mi = await startFakeManagedIdentity({ entra, clientId: identityClientId });
entra.addApp({ clientId: appClientId, federatedSubjects: [mi.principalId] });
after(() => Promise.all([mi.close(), entra.close()]));

// DefaultAzureCredential tries EnvironmentCredential and WorkloadIdentityCredential before the
// managed identity, and MSAL prefers Service Fabric over App Service when IDENTITY_SERVER_THUMBPRINT
// is set: clear what could divert either. MSAL reads IDENTITY_* at the first token request and keeps
// that source for the whole process, so they are set once, before any credential is used.
for (const name of ['AZURE_TENANT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_USERNAME', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_TOKEN_CREDENTIALS', 'IDENTITY_SERVER_THUMBPRINT']) {
  delete process.env[name];
}
Object.assign(process.env, mi.env());

test('ManagedIdentityCredential gets a token from the endpoint, issued by the fake Entra to the identity', async () => {
  const token = await new ManagedIdentityCredential({ clientId: identityClientId }).getToken('https://localhost/.default');
  const claims = entra.verifyAccessToken(token.token, 'https://localhost');
  assert.equal(claims.appid, identityClientId);
  assert.equal(claims.oid, mi.principalId);
  assert.equal(claims.roles, undefined);
  assert.deepEqual(mi.requests.at(-1), { resource: 'https://localhost', clientId: identityClientId });
  assert.ok(Math.abs(token.expiresOnTimestamp - (Date.now() + 3600_000)) < 10_000);
});

test('MSAL caches managed identity tokens process-wide: a new credential for the same resource does not call the endpoint', async () => {
  const before = mi.requests.length;
  await new ManagedIdentityCredential({ clientId: identityClientId }).getToken('https://localhost/.default');
  assert.equal(mi.requests.length, before);
});

test('DefaultAzureCredential with managedIdentityClientId reaches the App Service endpoint, without probing IMDS', async () => {
  const started = Date.now();
  const token = await new DefaultAzureCredential({ managedIdentityClientId: identityClientId }).getToken('https://storage.azure.com/.default');
  assert.equal(entra.verifyAccessToken(token.token, 'https://storage.azure.com').oid, mi.principalId);
  assert.deepEqual(mi.requests.at(-1), { resource: 'https://storage.azure.com', clientId: identityClientId });
  assert.ok(Date.now() - started < 5000, 'no detour through unavailable credentials or IMDS timeouts');
});

test('a credential naming an identity the app does not have gets "Unable to load the proper Managed Identity."', async () => {
  const credential = new ManagedIdentityCredential({ clientId: '0badc0de-1111-4222-8333-444455556666' });
  await assert.rejects(credential.getToken('https://localhost/.default'), (error: Error) => {
    assert.equal(error.name, 'CredentialUnavailableError');
    assert.match(error.message, /Unable to load the proper Managed Identity\./);
    return true;
  });
});

test('the endpoint refuses a missing (400) or wrong (401) X-IDENTITY-HEADER', async () => {
  const url = `${mi.endpoint}?api-version=2019-08-01&resource=https%3A%2F%2Flocalhost&client_id=${identityClientId}`;
  assert.equal((await fetch(url)).status, 400);
  assert.equal((await fetch(url, { headers: { 'X-IDENTITY-HEADER': 'guess' } })).status, 401);
  const ok = await fetch(url, { headers: { 'X-IDENTITY-HEADER': mi.header } });
  const body = (await ok.json()) as Record<string, unknown>;
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.resource, 'https://localhost');
  assert.equal(body.client_id, identityClientId);
  assert.match(String(body.expires_on), /^\d+$/);
});

test('ClientAssertionCredential trades the identity\'s token-exchange token for an app token (federated credential)', async () => {
  const identity = new ManagedIdentityCredential({ clientId: identityClientId });
  const getAssertion = async () => (await identity.getToken('api://AzureADTokenExchange/.default')).token;

  const exchange = await getAssertion();
  const exchangeClaims = entra.verifyAccessToken(exchange, 'api://AzureADTokenExchange');
  assert.equal(exchangeClaims.iss, entra.issuer);
  assert.equal(exchangeClaims.sub, mi.principalId);

  const app = new ClientAssertionCredential(tenantId, appClientId, getAssertion, {
    authorityHost: entra.authorityHost,
    disableInstanceDiscovery: true,
  });
  const claims = entra.verifyAccessToken((await app.getToken(`${outlook}/.default`)).token, outlook);
  assert.equal(claims.appid, appClientId);
  assert.deepEqual(claims.roles, ['IMAP.AccessAsApp']);
});

test('an app that does not trust the identity refuses its assertion with AADSTS700213', async () => {
  entra.addApp({ clientId: 'a11a11a1-1111-4222-8333-444455556666', federatedSubjects: ['someone-else'] });
  const identity = new ManagedIdentityCredential({ clientId: identityClientId });
  const app = new ClientAssertionCredential(
    tenantId,
    'a11a11a1-1111-4222-8333-444455556666',
    async () => (await identity.getToken('api://AzureADTokenExchange/.default')).token,
    { authorityHost: entra.authorityHost, disableInstanceDiscovery: true },
  );
  await assert.rejects(app.getToken(`${outlook}/.default`), (error: Error) => /AADSTS700213: No matching federated identity record found for presented assertion subject/.test(error.message));
});
