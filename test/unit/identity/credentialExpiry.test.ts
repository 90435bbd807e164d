/** The certificate and secret expiry rule, and the certificate PEM a Key Vault secret must hold. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { DrainError } from '../../../shared/errors/errors.js';
import { certificatePem } from '../../../shared/identity/certificatePem.js';
import { certificateNotAfter, credentialExpiry } from '../../../shared/identity/credentialExpiry.js';
import { makeAppCertificate } from '../../support/certificates.js';

const DAY = 86_400_000;
const now = Date.UTC(2026, 10, 20);

test('expired at or after its expiry, soon within the warning days, unknown without a date', () => {
  assert.deepEqual(credentialExpiry(undefined, now, 30), { state: 'unknown' });
  assert.deepEqual(credentialExpiry(new Date(now), now, 30), { state: 'expired' });
  assert.deepEqual(credentialExpiry(new Date(now - 1), now, 30), { state: 'expired' });
  assert.deepEqual(credentialExpiry(new Date(now + 30 * DAY), now, 30), { state: 'soon', days: 30 });
  assert.deepEqual(credentialExpiry(new Date(now + 30.5 * DAY), now, 30), { state: 'later', days: 30.5 });
});

test("a certificate's notAfter is its expiry, and its PEM passes as it is", () => {
  const notAfter = new Date(Math.floor((now + 90 * DAY) / 1000) * 1000);
  const cert = makeAppCertificate({ notAfter });
  assert.equal(certificateNotAfter(cert.pem)?.toISOString(), notAfter.toISOString());
  assert.equal(certificatePem(cert.pem, 'application/x-pem-file', {}), cert.pem);
  assert.match(certificatePem(cert.pfxBase64, 'application/x-pkcs12', {}), /^-----BEGIN RSA PRIVATE KEY-----[\s\S]+-----BEGIN CERTIFICATE-----/);
});

test('what is not a certificate with its RSA key fails with the code that says so', () => {
  const facts = { vault: 'kv', credentialType: 'certificate' as const, credentialName: 'cert', clientId: 'app' };
  const failsWith = (run: () => unknown, code: string) =>
    assert.throws(run, (error: unknown) => error instanceof DrainError && error.code === code && error.facts.credentialName === 'cert');
  failsWith(() => certificatePem('not a certificate', 'application/x-pem-file', facts), 'CREDENTIAL_INVALID');
  failsWith(() => certificatePem('bm90IGEgcGZ4', 'application/x-pkcs12', facts), 'CREDENTIAL_INVALID');
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const withEcKey = ec + makeAppCertificate().certificatePem;
  failsWith(() => certificatePem(withEcKey, 'application/x-pem-file', facts), 'CREDENTIAL_NOT_RSA');
});
