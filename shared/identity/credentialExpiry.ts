import { X509Certificate } from 'node:crypto';

/** Where a stored credential stands against its expiry. `days` may be fractional. */
export type Expiry = { state: 'unknown' } | { state: 'expired' } | { state: 'soon' | 'later'; days: number };

const DAY_MS = 86_400_000;

/**
 * The expiry rule: a credential past its expiry is expired (and fails the run
 * before any request to Entra ID); within `warningDays` of it, it expires soon
 * (and every run warns).
 */
export function credentialExpiry(expiresOn: Date | undefined, now: number, warningDays: number): Expiry {
  if (!expiresOn) return { state: 'unknown' };
  const days = (expiresOn.getTime() - now) / DAY_MS;
  if (days <= 0) return { state: 'expired' };
  return { state: days <= warningDays ? 'soon' : 'later', days };
}

/** notAfter of the first certificate in a PEM (the leaf, as Key Vault and certificatePem order it). */
export function certificateNotAfter(pem: string): Date | undefined {
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  return first ? new Date(new X509Certificate(first[0]).validTo) : undefined;
}
