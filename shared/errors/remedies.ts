/**
 * Every error code's remedy, as data: what the service said (for the README),
 * a one-line summary, the steps (words, then commands to copy) as a function of
 * the error's facts, and whether the failure passes by itself (the next run
 * tries again) or needs a person. Rendered only where output happens:
 * renderRemedy (logs, `error.remedy`), the doctor's checklist, the README table.
 */
import type { DrainErrorCode } from './errors.js';
import type { Remedy } from './remedies/remedy.js';
import { CREDENTIAL_REMEDIES } from './remedies/credentialRemedies.js';
import { ENTRA_REMEDIES } from './remedies/entraRemedies.js';
import { IMAP_REMEDIES } from './remedies/imapRemedies.js';
import { STORAGE_REMEDIES } from './remedies/storageRemedies.js';
import { OPERATE_REMEDIES } from './remedies/operateRemedies.js';

export type { Remedy, RemedyStep } from './remedies/remedy.js';

/** Every code's remedy; the type makes a code without one a compile error. */
export const REMEDIES: Record<DrainErrorCode, Remedy> = { ...CREDENTIAL_REMEDIES, ...ENTRA_REMEDIES, ...IMAP_REMEDIES, ...STORAGE_REMEDIES, ...OPERATE_REMEDIES };
