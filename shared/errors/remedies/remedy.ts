/** A remedy, as data: see remedies.ts. */
import type { Facts } from '../facts.js';

export interface RemedyStep {
  /** What to do, in words. */
  say: string;
  /** Commands to copy, in order, each on its own line where there is room. */
  run?: string[];
}

export interface Remedy {
  /** What Exchange, Entra ID or Azure said (or did), as the README lists it. */
  said: string;
  summary: string;
  /** True: transient, nothing to fix, the next run tries again. False: a person must act. */
  passes: boolean;
  steps(facts: Facts): RemedyStep[];
}

/** A remedy that passes by itself: its steps are words only. */
export function passing(said: string, summary: string, ...steps: string[]): Remedy {
  return { said, summary, passes: true, steps: () => steps.map((say) => ({ say })) };
}

export const NEXT_RUN = 'Nothing to fix in the settings or the credential: the next run tries again.';
