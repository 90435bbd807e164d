import { beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import forge from 'node-forge';
import { drain, isComplete } from '../../../shared/drain/drain.js';
import { CREDENTIAL_MAX_AGE_MS, CredentialCache, platformCredential } from '../../../shared/identity/credential.js';
import { DrainError } from '../../../shared/errors/errors.js';
import { loadSettings } from '../../../shared/config/loadSettings.js';
import { IMAP_ROLE } from '../../../local/stack.js';
import { makeAppCertificate } from '../../support/certificates.js';
import { capturingLogger, useTestStack, type SeededDemo, type TestStack } from '../../support/localStack.js';

let stack: TestStack;
let seeded: SeededDemo;
useTestStack((s, d) => {
  stack = s;
  seeded = d;
});
beforeEach(async () => {
  stack.entra.addApp({ clientId: stack.clientId, secret: stack.clientSecret, roles: [IMAP_ROLE] });
  stack.vault.setSecret('mail-drain-client-secret', { value: stack.clientSecret });
  await stack.reseed(seeded.messages.slice(0, 2));
});

async function drainsBoth(overrides: Record<string, string>) {
  const { lines, logger } = capturingLogger();
  const report = await drain(stack.settingsWith(overrides), logger);
  assert.ok(isComplete(report), lines.join('\n'));
  assert.equal(report.handedOff.length, 2);
  assert.equal((await stack.drainQueue()).length, 2);
  return lines;
}

async function drainError(overrides: Record<string, string>): Promise<DrainError> {
  try {
    await drain(stack.settingsWith(overrides), capturingLogger().logger);
  } catch (error) {
    assert.ok(error instanceof DrainError, String(error));
    return error;
  }
  assert.fail('the drain succeeded');
}

describe('certificate credential', () => {
  for (const [label, contentType, withChain] of [
    ['PEM', 'application/x-pem-file', false],
    ['PEM with its chain', 'application/x-pem-file', true],
    ['PKCS#12', 'application/x-pkcs12', false],
    ['PKCS#12 with its chain', 'application/x-pkcs12', true],
    ['PKCS#12 without a MAC', 'application/x-pkcs12-unprotected', false],
  ] as const) {
    test(`a Key Vault certificate as ${label} signs the client assertion`, async () => {
      const cert = makeAppCertificate({ withChain });
      stack.entra.addApp({ clientId: stack.clientId, certificatePem: cert.certificatePem, roles: [IMAP_ROLE] });
      stack.vault.setSecret('mail-drain-cert', {
        value: contentType === 'application/x-pkcs12' ? cert.pfxBase64 : contentType === 'application/x-pem-file' ? cert.pem : cert.pfxUnprotectedBase64,
        contentType: contentType === 'application/x-pkcs12-unprotected' ? 'application/x-pkcs12' : contentType,
      });
      await drainsBoth({ CREDENTIAL_TYPE: 'certificate', CLIENT_CERTIFICATE_NAME: 'mail-drain-cert' });
      const tokenRequest = stack.entra.requests.at(-1)!;
      assert.equal(tokenRequest.clientId, stack.clientId);
    });
  }

  test('a certificate the app registration does not know is explained as ENTRA_ASSERTION_INVALID', async () => {
    const registered = makeAppCertificate();
    const stored = makeAppCertificate();
    stack.entra.addApp({ clientId: stack.clientId, certificatePem: registered.certificatePem, roles: [IMAP_ROLE] });
    stack.vault.setSecret('mail-drain-cert', { value: stored.pem, contentType: 'application/x-pem-file' });
    const error = await drainError({ CREDENTIAL_TYPE: 'certificate', CLIENT_CERTIFICATE_NAME: 'mail-drain-cert' });
    assert.equal(error.code, 'ENTRA_ASSERTION_INVALID');
    assert.match(error.remedy, /az ad app credential reset --id .* --cert @app.cer --append/);
    assert.equal(stack.imap.messages('INBOX').length, 2);
  });

  test('a certificate that is not PEM or PKCS#12 is named', async () => {
    stack.vault.setSecret('mail-drain-cert', { value: 'not a certificate', contentType: 'text/plain' });
    const error = await drainError({ CREDENTIAL_TYPE: 'certificate', CLIENT_CERTIFICATE_NAME: 'mail-drain-cert' });
    assert.equal(error.code, 'CREDENTIAL_INVALID');
    assert.match(error.message, /"mail-drain-cert" is neither PEM with its private key nor PKCS#12/);
  });
});

/**
 * An app certificate with an EC (P-256) key, as Key Vault holds one made with keyType
 * EC: PEM (PKCS#8 key, then the certificate) and PKCS#12 (base64 PFX, with an empty
 * password or none). node-forge makes and reads RSA certificates only, so the
 * certificate is put together from its ASN.1 here and signed with node:crypto.
 */
function makeEcCertificate() {
  const { asn1, pki } = forge;
  const { UNIVERSAL, CONTEXT_SPECIFIC } = asn1.Class;
  const seq = (...items: forge.asn1.Asn1[]) => asn1.create(UNIVERSAL, asn1.Type.SEQUENCE, true, items);
  const oid = (id: string) => asn1.create(UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(id).getBytes());
  const int = (bytes: string) => asn1.create(UNIVERSAL, asn1.Type.INTEGER, false, bytes);
  const octets = (bytes: string) => asn1.create(UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes);
  const explicit = (item: forge.asn1.Asn1) => asn1.create(CONTEXT_SPECIFIC, 0, true, [item]);
  const der = (item: forge.asn1.Asn1) => asn1.toDer(item).getBytes();
  const time = (date: Date) => asn1.create(UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date));

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(asn1.create(UNIVERSAL, asn1.Type.SET, true, [seq(oid(pki.oids.commonName!), asn1.create(UNIVERSAL, asn1.Type.UTF8, false, 'mail-drain app'))]));
  const tbs = seq(
    explicit(int(asn1.integerToDer(2).getBytes())), // X.509 v3
    int(forge.util.hexToBytes(`01${randomBytes(8).toString('hex')}`)),
    ecdsaWithSha256,
    name,
    seq(time(new Date(Date.now() - 3_600_000)), time(new Date(Date.now() + 365 * 86_400_000))),
    name,
    asn1.fromDer(publicKey.export({ type: 'spki', format: 'der' }).toString('binary')),
  );
  const signature = sign('sha256', Buffer.from(der(tbs), 'binary'), privateKey);
  const certDer = der(seq(tbs, ecdsaWithSha256, asn1.create(UNIVERSAL, asn1.Type.BITSTRING, false, `\0${signature.toString('binary')}`)));
  const certificatePem = new X509Certificate(Buffer.from(certDer, 'binary')).toString();

  // PFX (RFC 7292): the key bag (shrouded with the password, when there is one) and the certificate bag, then the MAC.
  const pfx = (password: string | null) => {
    const keyInfo = asn1.fromDer(privateKey.export({ type: 'pkcs8', format: 'der' }).toString('binary'));
    const keyBag =
      password === null
        ? seq(oid(pki.oids.keyBag!), explicit(keyInfo))
        : seq(oid(pki.oids.pkcs8ShroudedKeyBag!), explicit(pki.encryptPrivateKeyInfo(keyInfo, password, { algorithm: '3des' })));
    const certBag = seq(oid(pki.oids.certBag!), explicit(seq(oid(pki.oids.x509Certificate!), explicit(octets(certDer)))));
    const data = (content: forge.asn1.Asn1) => seq(oid(pki.oids.data!), explicit(octets(der(content))));
    const authSafe = seq(data(seq(keyBag)), data(seq(certBag)));
    const parts = [int(asn1.integerToDer(3).getBytes()), data(authSafe)];
    if (password !== null) {
      const salt = forge.random.getBytesSync(8);
      const mac = forge.hmac.create();
      mac.start('sha1', forge.pkcs12.generateKey(password, forge.util.createBuffer(salt), 3, 1, 20).getBytes());
      mac.update(der(authSafe));
      const digestInfo = seq(seq(oid(pki.oids.sha1!), asn1.create(UNIVERSAL, asn1.Type.NULL, false, '')), octets(mac.digest().getBytes()));
      parts.push(seq(digestInfo, octets(salt), int(asn1.integerToDer(1).getBytes())));
    }
    return forge.util.encode64(der(seq(...parts)));
  };
  return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() + certificatePem, certificatePem, pfxBase64: pfx(''), pfxUnprotectedBase64: pfx(null) };
}

describe('a certificate without an RSA key', () => {
  const ec = makeEcCertificate();
  for (const [label, value, contentType] of [
    ['PEM', ec.pem, 'application/x-pem-file'],
    ['PKCS#12', ec.pfxBase64, 'application/x-pkcs12'],
    ['PKCS#12 without a MAC', ec.pfxUnprotectedBase64, 'application/x-pkcs12'],
  ] as const) {
    test(`an EC certificate as ${label} is rejected as CREDENTIAL_NOT_RSA, before any request to Entra ID`, async () => {
      stack.entra.addApp({ clientId: stack.clientId, certificatePem: ec.certificatePem, roles: [IMAP_ROLE] });
      stack.vault.setSecret('mail-drain-cert', { value, contentType });
      const tokenRequests = stack.entra.requests.length;
      const error = await drainError({ CREDENTIAL_TYPE: 'certificate', CLIENT_CERTIFICATE_NAME: 'mail-drain-cert' });
      assert.equal(error.code, 'CREDENTIAL_NOT_RSA', error.explain());
      assert.match(error.message, /"mail-drain-cert" has a key of type EC \(prime256v1\); Entra ID accepts client assertions signed with RSA keys only/);
      assert.match(error.remedy, /^Entra ID supports RSA certificates only\./);
      assert.match(error.remedy, /\(the policy's keyType is RSA\): az keyvault certificate create --vault-name kv --name mail-drain-cert --policy @infra\/certificate-policy\.json\./);
      assert.match(error.remedy, /openssl req -x509 -newkey rsa:2048/);
      assert.match(error.remedy, new RegExp(`az ad app credential reset --id ${stack.clientId} --cert @app.cer --append`));
      assert.equal(stack.entra.requests.length, tokenRequests, 'Entra ID was not called');
      assert.equal(stack.imap.messages('INBOX').length, 2);
    });
  }
});

describe('platform identity', () => {
  test('the function app reads Key Vault and Storage with ManagedIdentityCredential; the command line with DefaultAzureCredential', () => {
    const inFunction = loadSettings(stack.settings, { runsIn: 'function' });
    assert.equal(inFunction.runsIn, 'function');
    assert.ok(platformCredential(inFunction) instanceof ManagedIdentityCredential);
    assert.ok(platformCredential(inFunction, stack.identity.clientId) instanceof ManagedIdentityCredential, 'OUTPUT_STORAGE__clientId too');
    const onCommandLine = stack.settingsWith();
    assert.equal(onCommandLine.runsIn, 'commandLine');
    assert.ok(platformCredential(onCommandLine) instanceof DefaultAzureCredential);
  });
});

describe('federated credential', () => {
  test('the managed identity token is the client assertion: no secret anywhere', async () => {
    stack.entra.addApp({ clientId: stack.clientId, federatedSubjects: [stack.identity.principalId], roles: [IMAP_ROLE] });
    const before = stack.vault.requests.length;
    await drainsBoth({ CREDENTIAL_TYPE: 'federated', KEY_VAULT_URL: '', CLIENT_SECRET_NAME: '' });
    assert.equal(stack.vault.requests.length, before, 'Key Vault is not read');
    assert.ok(stack.identity.requests.some((r) => r.resource === 'api://AzureADTokenExchange'));
  });

  test('an app without the federated credential is explained', async () => {
    stack.entra.addApp({ clientId: stack.clientId, federatedSubjects: [], roles: [IMAP_ROLE] });
    const error = await drainError({ CREDENTIAL_TYPE: 'federated' });
    assert.match(error.code, /ENTRA_/);
    assert.match(error.remedy, /federated/);
  });
});

describe('rotation', () => {
  test('a secret rotated in Key Vault is used at once when Entra rejects the cached one', async () => {
    const settings = stack.settingsWith();
    const { lines, logger } = capturingLogger();
    const credentials = new CredentialCache();
    const app = await credentials.get(settings, logger);
    await app.mailboxToken(logger);
    const rotated = 'rotated~secret-value-0123456789';
    stack.entra.addApp({ clientId: stack.clientId, secret: rotated, roles: [IMAP_ROLE] });
    stack.vault.setSecret('mail-drain-client-secret', { value: rotated });
    // The next run in this process: the cached credential, and Exchange wants a new token.
    assert.equal(await credentials.get(settings, logger), app, 'the credential is kept across runs');
    const token = await app.mailboxToken(logger, { fresh: true });
    assert.equal(stack.entra.verifyAccessToken(token.token, 'https://outlook.office365.com').appid, stack.clientId);
    assert.ok(lines.some((l) => /rejected the cached secret; using version/.test(l)), lines.join('\n'));
    // And the drain itself works on the rotated secret.
    await drainsBoth({});
  });

  test('a credential older than an hour is read again from Key Vault', async () => {
    const settings = stack.settingsWith();
    const logger = capturingLogger().logger;
    const credentials = new CredentialCache();
    const first = await credentials.get(settings, logger);
    assert.equal(await credentials.get(settings, logger), first, 'kept across runs');
    const reads = stack.vault.requests.length;
    const later = await credentials.get(settings, logger, Date.now() + CREDENTIAL_MAX_AGE_MS + 1000);
    assert.notEqual(later, first, 'read again after an hour');
    assert.ok(stack.vault.requests.length > reads, 'Key Vault was asked');
  });
});

describe('expiry', () => {
  test('a secret expiring within CREDENTIAL_EXPIRY_WARNING_DAYS warns on every run with the renewal steps', async () => {
    const expiresOn = new Date(Date.now() + 10 * 86_400_000);
    stack.vault.setSecret('mail-drain-client-secret', { value: stack.clientSecret, expiresOn });
    for (let run = 0; run < 2; run++) {
      const lines = await drainsBoth({});
      const warning = lines.find((l) => /expires on/.test(l));
      assert.ok(warning, `run ${run} warns`);
      assert.match(warning, new RegExp(expiresOn.toISOString().slice(0, 10)));
      assert.match(warning, /az ad app credential reset --id .* --append/);
      assert.match(warning, /az keyvault secret set --vault-name kv --name mail-drain-client-secret/);
      await stack.reseed(seeded.messages.slice(0, 2));
    }
    const quiet = await drainsBoth({ CREDENTIAL_EXPIRY_WARNING_DAYS: '5' });
    assert.ok(!quiet.some((l) => /expires on/.test(l)), 'no warning outside the window');
  });

  test('an expired secret fails the run before any request to Entra ID', async () => {
    stack.vault.setSecret('mail-drain-client-secret', { value: stack.clientSecret, expiresOn: new Date(Date.now() - 60_000) });
    const tokenRequests = stack.entra.requests.length;
    const error = await drainError({});
    assert.equal(error.code, 'CREDENTIAL_EXPIRED');
    assert.match(error.remedy, /az ad app credential reset/);
    assert.equal(stack.entra.requests.length, tokenRequests, 'Entra ID was not called');
    assert.equal(stack.imap.messages('INBOX').length, 2);
  });

  test("a certificate's notAfter counts as its expiry", async () => {
    const cert = makeAppCertificate({ notAfter: new Date(Date.now() - 86_400_000) });
    stack.entra.addApp({ clientId: stack.clientId, certificatePem: cert.certificatePem, roles: [IMAP_ROLE] });
    stack.vault.setSecret('mail-drain-cert', { value: cert.pem, contentType: 'application/x-pem-file' });
    const error = await drainError({ CREDENTIAL_TYPE: 'certificate', CLIENT_CERTIFICATE_NAME: 'mail-drain-cert' });
    assert.equal(error.code, 'CREDENTIAL_EXPIRED');
    assert.match(error.remedy, /az keyvault certificate/);
  });
});
