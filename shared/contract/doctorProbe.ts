/**
 * The message `mail-drain doctor` sends to prove a queue writable, and deletes
 * at once (one that could not be deleted expires within a minute). It has no
 * `schemaVersion`: it is not a mail message, and consumers skip it.
 */
export const DOCTOR_PROBE = { doctor: 'mail-drain doctor probe, not a mail message' } as const;

/** True for the doctor's probe (any `doctor` text, no `schemaVersion`), as decoded from the queue. */
export function isDoctorProbe(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !('schemaVersion' in value) && typeof (value as { doctor?: unknown }).doctor === 'string';
}
