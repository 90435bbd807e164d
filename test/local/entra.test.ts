import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import { startFakeEntra } from '../../local/entra.js';

const tenantId = '7d3f1a52-0c4e-4b8e-9a61-2f5d8c0b9e13';
const clientId = 'c0ffee00-1111-4222-8333-444455556666';
const certClientId = 'ce47ce47-1111-4222-8333-444455556666';
const expiredClientId = 'e4714ed0-1111-4222-8333-444455556666';
const outlook = 'https://outlook.office365.com';
const appCert = selfSignedCertificate('mail-drain test app');

const entra = await startFakeEntra({
  tenantId,
  apps: [
    { clientId, secret: 'the-secret-value' },
    { clientId: expiredClientId, secret: 'old-secret', secretExpired: true },
    { clientId: certClientId, certificatePem: appCert.certPem },
  ],
});
after(() => entra.close());

// Instance discovery would go to login.microsoftonline.com, whatever the authority.
const options = { authorityHost: entra.authorityHost, disableInstanceDiscovery: true };

/** The AADSTS code @azure/identity leaves in the message (it keeps no structured error response). */
function aadsts(error: unknown): string | undefined {
  return /AADSTS(\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
}

function selfSignedCertificate(commonName: string): { certPem: string; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  cert.setIssuer([{ name: 'commonName', value: commonName }]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

test('ClientSecretCredential gets an Exchange token that verifies, after MSAL reads the openid-configuration', async () => {
  const before = entra.requests.length;
  const credential = new ClientSecretCredential(tenantId, clientId, 'the-secret-value', options);
  const token = await credential.getToken(`${outlook}/.default`);

  const claims = entra.verifyAccessToken(token.token, outlook);
  assert.equal(claims.aud, outlook);
  assert.equal(claims.iss, `https://sts.windows.net/${tenantId}/`);
  assert.equal(claims.tid, tenantId);
  assert.equal(claims.appid, clientId);
  assert.equal(claims.oid, entra.servicePrincipalId(clientId));
  assert.deepEqual(claims.roles, ['IMAP.AccessAsApp']);
  assert.ok(token.expiresOnTimestamp > Date.now() + 3500_000);

  assert.deepEqual(
    entra.requests.slice(before).map((r) => [r.path, r.grantType, r.scope]),
    [
      [`/${tenantId}/v2.0/.well-known/openid-configuration`, undefined, undefined],
      [`/${tenantId}/oauth2/v2.0/token`, 'client_credentials', `${outlook}/.default`],
    ],
  );
  assert.ok(!JSON.stringify(entra.requests).includes('the-secret-value'), 'the request log never holds secrets');
});

test('a wrong client secret fails with AADSTS7000215 in the message of an AuthenticationRequiredError', async () => {
  const credential = new ClientSecretCredential(tenantId, clientId, 'the-secret-id-not-value', options);
  await assert.rejects(credential.getToken(`${outlook}/.default`), (error: Error) => {
    assert.equal(error.name, 'AuthenticationRequiredError');
    assert.match(error.message, /^invalid_client: Error\(s\): 7000215 - /);
    assert.equal(aadsts(error), '7000215');
    return true;
  });
});

test('an expired client secret fails with AADSTS7000222', async () => {
  const credential = new ClientSecretCredential(tenantId, expiredClientId, 'old-secret', options);
  await assert.rejects(credential.getToken(`${outlook}/.default`), (error) => aadsts(error) === '7000222');
});

test('an unknown client id fails with AADSTS700016', async () => {
  const credential = new ClientSecretCredential(tenantId, '0badc0de-1111-4222-8333-444455556666', 'x', options);
  await assert.rejects(credential.getToken(`${outlook}/.default`), (error: Error) => {
    assert.match(error.message, /^unauthorized_client: /);
    return aadsts(error) === '700016';
  });
});

test('an unknown tenant is refused at discovery with AADSTS90002, which MSAL reports only as endpoints_resolution_error', async () => {
  const otherTenant = '00000000-1111-4222-8333-444455556666';
  const credential = new ClientSecretCredential(otherTenant, clientId, 'the-secret-value', options);
  await assert.rejects(credential.getToken(`${outlook}/.default`), (error: Error) => {
    assert.equal(error.name, 'CredentialUnavailableError');
    assert.match(error.message, /endpoints_resolution_error/);
    return true;
  });
  assert.equal(entra.requests.at(-1)?.path, `/${otherTenant}/v2.0/.well-known/openid-configuration`);

  const response = await fetch(`${entra.authorityHost}/${otherTenant}/v2.0/.well-known/openid-configuration`);
  assert.equal(response.status, 400);
  const body = (await response.json()) as { error: string; error_codes: number[]; error_description: string };
  assert.equal(body.error, 'invalid_tenant');
  assert.deepEqual(body.error_codes, [90002]);
  assert.match(body.error_description, /^AADSTS90002: Tenant '.+' not found\..*\r\nTrace ID: .+\r\nCorrelation ID: .+\r\nTimestamp: /s);
});

test('a scope whose resource is not a URI fails with AADSTS500011, one without /.default with AADSTS1002012', async () => {
  const credential = new ClientSecretCredential(tenantId, clientId, 'the-secret-value', options);
  await assert.rejects(credential.getToken('not-a-resource/.default'), (error) => aadsts(error) === '500011');
  await assert.rejects(credential.getToken(outlook), (error) => aadsts(error) === '1002012');
});

test('rotating the secret: the old one fails, the new one works', async () => {
  const rotated = 'rotated-app';
  entra.addApp({ clientId: rotated, secret: 'first' });
  await new ClientSecretCredential(tenantId, rotated, 'first', options).getToken(`${outlook}/.default`);
  entra.addApp({ clientId: rotated, secret: 'second' });
  await assert.rejects(new ClientSecretCredential(tenantId, rotated, 'first', options).getToken(`${outlook}/.default`), (error) => aadsts(error) === '7000215');
  await new ClientSecretCredential(tenantId, rotated, 'second', options).getToken(`${outlook}/.default`);
});

test('ClientCertificateCredential signs an assertion the fake verifies against the registered certificate', async () => {
  const credential = new ClientCertificateCredential(tenantId, certClientId, { certificate: appCert.keyPem + appCert.certPem }, options);
  const token = await credential.getToken(`${outlook}/.default`);
  const claims = entra.verifyAccessToken(token.token, outlook);
  assert.equal(claims.appid, certClientId);
  assert.equal(claims.appidacr, '2');
});

test('ClientCertificateCredential with a certificate that is not registered fails with AADSTS700027', async () => {
  const stranger = selfSignedCertificate('not registered');
  const credential = new ClientCertificateCredential(tenantId, certClientId, { certificate: stranger.keyPem + stranger.certPem }, options);
  await assert.rejects(credential.getToken(`${outlook}/.default`), (error: Error) => {
    assert.match(error.message, /not registered on application/);
    return aadsts(error) === '700027';
  });
});

test('a 503 from the token endpoint is retried by the SDK pipeline, honouring Retry-After', async () => {
  entra.failNext(503);
  const before = entra.requests.length;
  const token = await new ClientSecretCredential(tenantId, clientId, 'the-secret-value', options).getToken(`${outlook}/.default`);
  entra.verifyAccessToken(token.token, outlook);
  const tokenCalls = entra.requests.slice(before).filter((r) => r.path.endsWith('/token'));
  assert.equal(tokenCalls.length, 2);
});

test('verifyAccessToken rejects a wrong audience, an expired token, a foreign key and a tampered payload', async () => {
  const token = entra.issueToken({ aud: outlook, appid: clientId });
  assert.throws(() => entra.verifyAccessToken(token, 'https://localhost'), /audience is 'https:\/\/outlook.office365.com', expected 'https:\/\/localhost'/);
  assert.throws(() => entra.verifyAccessToken(entra.issueToken({ aud: outlook, appid: clientId, lifetimeSeconds: -1 }), outlook), /expired/);

  const other = await startFakeEntra({ tenantId });
  try {
    assert.throws(() => entra.verifyAccessToken(other.issueToken({ aud: outlook, appid: clientId }), outlook), /signature/);
  } finally {
    await other.close();
  }

  const [header, payload, signature] = token.split('.') as [string, string, string];
  const forged = JSON.parse(Buffer.from(payload, 'base64url').toString());
  forged.roles = ['full_access_as_app'];
  const tampered = `${header}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`;
  assert.throws(() => entra.verifyAccessToken(tampered, outlook), /signature/);
});

test('the introspection endpoint (RFC 7662) answers active only for a token of this tenant, unexpired, for the audience and with the role', async () => {
  const url = entra.introspectionUrl({ audience: outlook, role: 'IMAP.AccessAsApp' });
  const introspect = async (token: string, at = url) => {
    const response = await fetch(at, { method: 'POST', body: new URLSearchParams({ token }) });
    assert.equal(response.status, 200);
    return (await response.json()) as Record<string, unknown>;
  };
  const before = entra.introspections.length;

  const good = await introspect(entra.issueToken({ aud: outlook, appid: clientId, roles: ['IMAP.AccessAsApp'] }));
  assert.equal(good.active, true);
  assert.equal(good.aud, outlook);
  assert.equal(good.client_id, clientId);
  assert.equal(good.sub, entra.servicePrincipalId(clientId));
  assert.deepEqual(good.roles, ['IMAP.AccessAsApp']);

  const refused = [
    entra.issueToken({ aud: 'https://graph.microsoft.com', appid: clientId, roles: ['IMAP.AccessAsApp'] }),
    entra.issueToken({ aud: outlook, appid: clientId, roles: ['IMAP.AccessAsApp'], lifetimeSeconds: -1 }),
    entra.issueToken({ aud: outlook, appid: clientId }),
    'not-a-jwt',
  ];
  for (const token of refused) assert.deepEqual(await introspect(token), { active: false }, 'an inactive answer says nothing more');
  assert.deepEqual(
    entra.introspections.slice(before).map((i) => [i.active, i.reason?.replace(/ at .*/, '')]),
    [
      [true, undefined],
      [false, "access token audience is 'https://graph.microsoft.com', expected 'https://outlook.office365.com'"],
      [false, 'access token expired'],
      [false, "access token lacks the app role 'IMAP.AccessAsApp'"],
      [false, 'not a compact JWT (expected three dot-separated parts)'],
    ],
  );
  assert.ok(!JSON.stringify(entra.requests).includes('eyJ'), 'the request log never holds tokens');

  // Without a role requirement any Exchange token is active; an unknown tenant has no endpoint.
  assert.equal((await introspect(entra.issueToken({ aud: outlook, appid: clientId }), entra.introspectionUrl({ audience: outlook }))).active, true);
  const otherTenant = url.replace(tenantId, '00000000-1111-4222-8333-444455556666');
  const response = await fetch(otherTenant, { method: 'POST', body: new URLSearchParams({ token: 'x' }) });
  assert.equal(response.status, 400);
});
