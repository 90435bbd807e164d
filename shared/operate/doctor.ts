/** `mail-drain doctor`: see doctor/runDoctor.ts. */
export { runDoctor, type DoctorOptions } from './doctor/runDoctor.js';
export type { DoctorResult, DoctorStep, StepName } from './doctor/doctorStep.js';
export { formatStep } from './doctor/formatStep.js';
export { openStorage } from './doctor/openStorage.js';
export { PROBE_TTL_SECONDS } from './doctor/storageProbes.js';
export { tokenClaims, type TokenClaims } from './doctor/tokenClaims.js';
export { EXCHANGE_AUDIENCE, IMAP_ROLE } from '../identity/credential.js';
