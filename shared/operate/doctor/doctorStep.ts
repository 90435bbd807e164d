import type { DrainErrorCode } from '../../errors/errors.js';
import type { RemedyStep } from '../../errors/remedies.js';

export type StepName = 'settings' | 'keyVault' | 'token' | 'imap' | 'queue' | 'container';

/** One line of the checklist, as runDoctor returns it. */
export interface DoctorStep {
  name: StepName;
  /** `skip` also marks a step that does not apply (Key Vault with CREDENTIAL_TYPE=federated). */
  status: 'ok' | 'fail' | 'skip';
  detail: string;
  code?: DrainErrorCode;
  /** What to do, in one line: for a failed step, or for a passing one that needs attention soon. */
  remedy?: string;
  /** The same, as the remedy table's steps: words, then commands to copy. */
  steps?: RemedyStep[];
  /** The failure passes by itself: the next run tries again. */
  passes?: boolean;
}

export interface DoctorResult {
  /** True when no step failed. */
  ok: boolean;
  steps: DoctorStep[];
}

/** What a passing check found, and the value later checks need. */
export interface Passed<T> {
  value: T;
  detail: string;
  /** Attention a passing check asks for (a credential that expires soon). */
  steps?: RemedyStep[];
  /** The check does not apply to these settings: shown as skipped, not failed. */
  notApplicable?: boolean;
}

export const LABELS: Record<StepName, string> = {
  settings: 'Settings',
  keyVault: 'Key Vault',
  token: 'Token',
  imap: 'IMAP',
  queue: 'Queue',
  container: 'Blob container',
};
