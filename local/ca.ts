/**
 * A local certificate authority for the embedded stack's TLS servers.
 *
 * Node reads NODE_EXTRA_CA_CERTS once, at process start, so the CA lives in a
 * file that exists before the drain (or test) process starts, and every local
 * server gets a leaf certificate signed by it. Nothing switches TLS checks off.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { basename, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import forge from 'node-forge';

export interface LocalCa {
  /** File to pass as NODE_EXTRA_CA_CERTS. */
  certPath: string;
  certPem: string;
  /** A server certificate for these DNS names (and 127.0.0.1, ::1), signed by the CA. */
  issue(hostnames: string[]): { key: string; cert: string };
}

/** Where the CA is kept: `.local/ca` in the project (git-ignored), from source or from dist/. */
export function defaultCaDir(): string {
  let root = join(dirname(fileURLToPath(import.meta.url)), '..');
  if (basename(root) === 'dist') root = join(root, '..');
  return join(root, '.local', 'ca');
}

function newKeyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function serial(): string {
  // Positive, 16 bytes: the first bit cleared keeps it non-negative in DER.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

/** Loads the CA from `dir`, creating it on first use. */
export function loadOrCreateLocalCa(dir: string = defaultCaDir()): LocalCa {
  const certPath = join(dir, 'ca.pem');
  const keyPath = join(dir, 'ca.key');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    mkdirSync(dir, { recursive: true });
    const keys = newKeyPair();
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
    cert.serialNumber = serial();
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 5 * 365 * 86_400_000);
    const subject = [{ name: 'commonName', value: 'mail-drain local stack CA' }];
    cert.setSubject(subject);
    cert.setIssuer(subject);
    cert.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    cert.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create());
    writeFileSync(keyPath, keys.privateKeyPem, { mode: 0o600 });
    writeFileSync(certPath, forge.pki.certificateToPem(cert));
  }

  const certPem = readFileSync(certPath, 'utf8');
  const caCert = forge.pki.certificateFromPem(certPem);
  const caKey = forge.pki.privateKeyFromPem(readFileSync(keyPath, 'utf8'));

  return {
    certPath,
    certPem,
    issue(hostnames) {
      const keys = newKeyPair();
      const cert = forge.pki.createCertificate();
      cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
      cert.serialNumber = serial();
      cert.validity.notBefore = new Date(Date.now() - 60_000);
      cert.validity.notAfter = new Date(Date.now() + 30 * 86_400_000);
      cert.setSubject([{ name: 'commonName', value: hostnames[0] ?? 'localhost' }]);
      cert.setIssuer(caCert.subject.attributes);
      cert.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            ...hostnames.map((value) => ({ type: 2, value })),
            { type: 7, ip: '127.0.0.1' },
            { type: 7, ip: '::1' },
          ],
        },
      ]);
      cert.sign(caKey, forge.md.sha256.create());
      return { key: keys.privateKeyPem, cert: forge.pki.certificateToPem(cert) };
    },
  };
}
