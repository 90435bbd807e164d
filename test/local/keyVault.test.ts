import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ClientSecretCredential, ManagedIdentityCredential } from '@azure/identity';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { SecretClient } from '@azure/keyvault-secrets';
import { startFakeEntra } from '../../local/entra.js';
import { startFakeKeyVault } from '../../local/keyVault.js';
import { startFakeManagedIdentity } from '../../local/managedIdentity.js';

const tenantId = '7d3f1a52-0c4e-4b8e-9a61-2f5d8c0b9e13';
const readerClientId = 'c0ffee00-1111-4222-8333-444455556666';
const identityClientId = '1dc11dc1-1111-4222-8333-444455556666';
const expiresOn = new Date('2030-01-31T12:00:00Z');

const entra = await startFakeEntra({ tenantId, apps: [{ clientId: readerClientId, secret: 'reader-secret' }] });
const kv = await startFakeKeyVault({
  entra,
  secrets: { 'imap-client-secret': { value: 'first value', contentType: 'text/plain', expiresOn } },
});
const mi = await startFakeManagedIdentity({ entra, clientId: identityClientId });
after(() => Promise.all([kv.close(), mi.close(), entra.close()]));

const reader = new ClientSecretCredential(tenantId, readerClientId, 'reader-secret', {
  authorityHost: entra.authorityHost,
  disableInstanceDiscovery: true,
});
const client = new SecretClient(kv.url, reader);

/** How the SDK exposes the service's error body: note `innerError`, camel-cased from the wire's `innererror`. */
type KeyVaultErrorDetails = { error?: { code?: string; message?: string; innerError?: { code?: string } } };

/** The status and service error code a RestError from the SDK carries. */
function restError(statusCode: number, code: string) {
  return (error: unknown) => {
    const e = error as { name: string; statusCode?: number; code?: string };
    assert.equal(e.name, 'RestError');
    assert.equal(e.statusCode, statusCode);
    assert.equal(e.code, code);
    return true;
  };
}

test('getSecret answers the challenge with a token for https://localhost and reads value, content type and expiry', async () => {
  const before = kv.requests.length;
  const secret = await client.getSecret('imap-client-secret');
  assert.equal(secret.value, 'first value');
  assert.equal(secret.name, 'imap-client-secret');
  assert.equal(secret.properties.contentType, 'text/plain');
  assert.deepEqual(secret.properties.expiresOn, expiresOn);
  assert.equal(secret.properties.enabled, true);
  assert.match(secret.properties.version ?? '', /^[0-9a-f]{32}$/);
  assert.deepEqual(kv.requests.slice(before).map((r) => r.status), [401, 200]);
  assert.equal(entra.requests.at(-1)?.scope, 'https://localhost/.default');
});

test('a missing secret is a RestError 404 with code SecretNotFound', async () => {
  await assert.rejects(client.getSecret('no-such-secret'), restError(404, 'SecretNotFound'));
});

test('a caller without a role assignment gets 403 Forbidden (ForbiddenByRbac) until allowed', async () => {
  kv.forbid(entra.servicePrincipalId(readerClientId));
  try {
    await assert.rejects(client.getSecret('imap-client-secret'), (error: Error & { details?: KeyVaultErrorDetails }) => {
      restError(403, 'Forbidden')(error);
      assert.equal(error.details?.error?.innerError?.code, 'ForbiddenByRbac');
      assert.match(error.message, /Microsoft\.KeyVault\/vaults\/secrets\/getSecret\/action/);
      return true;
    });
  } finally {
    kv.allow(entra.servicePrincipalId(readerClientId));
  }
  assert.equal((await client.getSecret('imap-client-secret')).value, 'first value');
});

test('a disabled secret is 403 Forbidden, told apart by details.error.innerError.code SecretDisabled', async () => {
  kv.setSecret('disabled-secret', { value: 'x', enabled: false });
  await assert.rejects(client.getSecret('disabled-secret'), (error: Error & { details?: KeyVaultErrorDetails }) => {
    restError(403, 'Forbidden')(error);
    assert.equal(error.details?.error?.innerError?.code, 'SecretDisabled');
    return true;
  });
});

test('rotation: setSecret adds a version, reads get the newest, the old version stays readable by id', async () => {
  kv.setSecret('rotating', { value: 'old' });
  const old = await client.getSecret('rotating');
  kv.setSecret('rotating', { value: 'new' });
  const current = await client.getSecret('rotating');
  assert.equal(current.value, 'new');
  assert.notEqual(current.properties.version, old.properties.version);
  assert.equal((await client.getSecret('rotating', { version: old.properties.version! })).value, 'old');

  kv.deleteSecret('rotating');
  await assert.rejects(client.getSecret('rotating'), restError(404, 'SecretNotFound'));
});

test('a token for another audience is refused with 401', async () => {
  const wrongAudience: TokenCredential = {
    async getToken(): Promise<AccessToken> {
      return { token: entra.issueToken({ aud: 'https://outlook.office365.com', appid: readerClientId }), expiresOnTimestamp: Date.now() + 3600_000 };
    },
  };
  await assert.rejects(new SecretClient(kv.url, wrongAudience).getSecret('imap-client-secret'), restError(401, 'Unauthorized'));
});

test('a 503 is retried by the SDK pipeline', async () => {
  kv.failNext(503);
  const before = kv.requests.length;
  assert.equal((await client.getSecret('imap-client-secret')).value, 'first value');
  assert.deepEqual(kv.requests.slice(before).map((r) => r.status), [503, 200]);
});

test('the product path: the managed identity reads the secret', async () => {
  Object.assign(process.env, mi.env());
  const secret = await new SecretClient(kv.url, new ManagedIdentityCredential({ clientId: identityClientId })).getSecret('imap-client-secret');
  assert.equal(secret.value, 'first value');
  assert.deepEqual(mi.requests.at(-1), { resource: 'https://localhost', clientId: identityClientId });
});
