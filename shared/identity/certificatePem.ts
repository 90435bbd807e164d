/**
 * The PEM (private key and certificate chain) of a Key Vault certificate's
 * secret. @azure/identity takes PEM only, so PKCS#12 is converted, with
 * node-forge. The key must be RSA: Entra ID verifies client assertions as
 * RS256 or PS256 only.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { DrainError } from '../errors/errors.js';
import type { Facts } from '../errors/facts.js';

const KEY_TYPE_NAMES: Record<string, string> = { ec: 'EC', dsa: 'DSA', 'rsa-pss': 'RSA-PSS', ed25519: 'Ed25519', ed448: 'Ed448' };

/** Throws CREDENTIAL_INVALID for what is not a certificate with its key, CREDENTIAL_NOT_RSA for a key Entra ID cannot verify an assertion from. */
export function certificatePem(value: string, contentType: string | undefined, facts: Facts): string {
  const name = facts.credentialName;
  if (contentType === 'application/x-pkcs12') {
    try {
      return pkcs12ToPem(value, facts);
    } catch (error) {
      if (error instanceof DrainError) throw error;
      throw new DrainError('CREDENTIAL_INVALID', `Key Vault certificate "${name}" (PKCS#12) could not be read: ${(error as Error).message}.`, facts, { cause: error });
    }
  }
  const pemKey = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/.exec(value);
  if (pemKey && /-----BEGIN CERTIFICATE-----/.test(value)) {
    let key: KeyObject;
    try {
      key = createPrivateKey(pemKey[0]);
    } catch (error) {
      throw new DrainError('CREDENTIAL_INVALID', `The private key of Key Vault certificate "${name}" (PEM) could not be read: ${(error as Error).message}.`, facts, {
        cause: error,
      });
    }
    requireRsa(key, facts);
    return value;
  }
  throw new DrainError(
    'CREDENTIAL_INVALID',
    `Key Vault certificate "${name}" is neither PEM with its private key nor PKCS#12 (content type ${contentType ?? 'unknown'}).`,
    facts,
  );
}

function pkcs12ToPem(value: string, facts: Facts): string {
  // Key Vault keeps a certificate's PFX base64-encoded without a password: either an
  // empty one (a MAC over "") or none at all (no MAC), depending on how it was imported.
  const der = forge.util.decode64(value);
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der), false, '');
  } catch {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der), false);
  }
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag] ?? []),
  ];
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
  // node-forge reads RSA keys only: any other key is a bag without `key`, its PKCS#8 left in `asn1`.
  const other = keyBags.find((b) => !b.key && b.asn1);
  if (!keyBags.some((b) => b.key) && other) {
    requireRsa(pkcs8Key(Buffer.from(forge.asn1.toDer(other.asn1).getBytes(), 'binary')), facts);
  }
  const key = keyBags.find((b) => b.key)?.key;
  if (!key || certBags.length === 0) throw new Error('the PFX holds no private key or no certificate');
  // The leaf (the certificate whose public key matches the private key) first, then the chain.
  const rsaKey = key as forge.pki.rsa.PrivateKey;
  const isLeaf = (cert: forge.pki.Certificate) => (cert.publicKey as forge.pki.rsa.PublicKey).n.equals(rsaKey.n);
  const certs = certBags.map((b) => b.cert!).filter(Boolean);
  const ordered = [...certs.filter(isLeaf), ...certs.filter((c) => !isLeaf(c))];
  return [forge.pki.privateKeyToPem(key), ...ordered.map((c) => forge.pki.certificateToPem(c))].join('');
}

function pkcs8Key(der: Buffer): KeyObject | undefined {
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    return undefined;
  }
}

/**
 * Without this check an EC key fails late and in other words: in MSAL's JWT signing (from PEM),
 * or as a PFX that seems to hold no key at all (node-forge reads RSA keys only).
 */
function requireRsa(key: KeyObject | undefined, facts: Facts): void {
  if (key?.asymmetricKeyType === 'rsa') return;
  const type = key?.asymmetricKeyType;
  const curve = key?.asymmetricKeyDetails?.namedCurve;
  const what = type ? `a key of type ${KEY_TYPE_NAMES[type] ?? type}${curve ? ` (${curve})` : ''}` : 'a key that is not RSA';
  throw new DrainError(
    'CREDENTIAL_NOT_RSA',
    `Key Vault certificate "${facts.credentialName}" has ${what}; Entra ID accepts client assertions signed with RSA keys only (RS256, PS256).`,
    facts,
  );
}
