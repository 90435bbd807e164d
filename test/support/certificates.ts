/**
 * App registration certificates for tests, as Key Vault would hold them: PEM
 * (private key, leaf, chain) or PKCS#12 (base64 PFX without a password).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface TestCertificate {
  /** Private key, leaf certificate and (with a chain) the issuing CA, as Key Vault's PEM content type. */
  pem: string;
  /** The leaf certificate alone: what is uploaded to the app registration. */
  certificatePem: string;
  /** Base64 PFX with an empty password (as `openssl pkcs12 -export -passout pass:` writes it). */
  pfxBase64: string;
  /** Base64 PFX with no password at all: no MAC, unencrypted bags. */
  pfxUnprotectedBase64: string;
  notAfter: Date;
}

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}

function certificate(subject: string, publicKey: forge.pki.PublicKey, issuer: { name: string; key: forge.pki.rsa.PrivateKey }, notAfter: Date, ca: boolean) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = notAfter;
  cert.setSubject([{ name: 'commonName', value: subject }]);
  cert.setIssuer([{ name: 'commonName', value: issuer.name }]);
  cert.setExtensions([{ name: 'basicConstraints', cA: ca }]);
  cert.sign(issuer.key, forge.md.sha256.create());
  return cert;
}

export function makeAppCertificate(options: { notAfter?: Date; withChain?: boolean } = {}): TestCertificate {
  const notAfter = options.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
  const leafKeys = keyPair();
  let chain: forge.pki.Certificate[] = [];
  let issuer = { name: 'mail-drain app', key: leafKeys.privateKey };
  if (options.withChain) {
    const caKeys = keyPair();
    const ca = certificate('Contoso Issuing CA', caKeys.publicKey, { name: 'Contoso Issuing CA', key: caKeys.privateKey }, new Date(Date.now() + 5 * 365 * 86_400_000), true);
    chain = [ca];
    issuer = { name: 'Contoso Issuing CA', key: caKeys.privateKey };
  }
  const leaf = certificate('mail-drain app', leafKeys.publicKey, issuer, notAfter, false);
  const certificatePem = forge.pki.certificateToPem(leaf);
  const pem = forge.pki.privateKeyToPem(leafKeys.privateKey) + certificatePem + chain.map((c) => forge.pki.certificateToPem(c)).join('');
  // Key Vault puts the chain before the leaf in its PFX exports at times; the reader must not care.
  const pfx = (password: string | null) =>
    forge.util.encode64(forge.asn1.toDer(forge.pkcs12.toPkcs12Asn1(leafKeys.privateKey, [...chain, leaf], password, { algorithm: '3des' })).getBytes());
  return { pem, certificatePem, pfxBase64: pfx(''), pfxUnprotectedBase64: pfx(null), notAfter };
}
