/**
 * The attempt ledger: how often each message failed, across runs, and which
 * messages a step is handing off right now. It lives in the mailbox lease's
 * state blob (Exchange Online has no custom IMAP keywords to keep it in) and
 * is saved through the lease; this type is the only code that changes it.
 *
 * What counts as an attempt: a failure that was the message's own (see
 * `own` in HandOffResult), and a drain that died while the message was in
 * flight. A passing failure (Storage or the network down) never counts.
 */
import type { HandOffResult } from './handOff.js';
import type { DrainState } from '../outbox/mailboxLease.js';

export class AttemptLedger {
  constructor(private readonly state: DrainState) {}

  /** Failed attempts of `uid` so far. */
  attemptsOf(uid: number): number {
    return this.state.attempts[uid] ?? 0;
  }

  /**
   * A new UIDVALIDITY renumbers the folder: the old counts name other
   * messages now. Returns the UIDVALIDITY the ledger had, when it differs.
   */
  keyTo(uidValidity: number): number | undefined {
    const previous = this.state.uidValidity;
    if (previous !== undefined && previous !== uidValidity) {
      this.state.attempts = {};
      this.state.inFlight = [];
    }
    this.state.uidValidity = uidValidity;
    return previous !== undefined && previous !== uidValidity ? previous : undefined;
  }

  /**
   * At the start of a drain: UIDs still in flight were being handed off when
   * the last drain died, and that counts as an attempt of each. Returns them
   * (those still in the folder), to be tried alone. Counts of messages no longer
   * in the folder are forgotten.
   */
  recoverFromDeath(present: Set<number>): Set<number> {
    const suspects = new Set(this.state.inFlight.filter((uid) => present.has(uid)));
    for (const uid of suspects) this.state.attempts[uid] = this.attemptsOf(uid) + 1;
    for (const uid of Object.keys(this.state.attempts)) if (!present.has(Number(uid))) delete this.state.attempts[uid];
    this.state.inFlight = [];
    return suspects;
  }

  /** Before a step's hand-off (save the lease after): if the process dies now, these are the ones. */
  begin(uids: number[]): void {
    this.state.inFlight = uids;
  }

  /** After a step: own failures count, a handed-off or quarantined message is forgotten. */
  settle(results: HandOffResult[]): void {
    for (const r of results) {
      if (r.outcome !== 'failed') delete this.state.attempts[r.uid];
      else if (r.own) this.state.attempts[r.uid] = this.attemptsOf(r.uid) + 1;
    }
    this.state.inFlight = [];
  }

  /** A step that ended without results (the session or Storage went away): nothing counts. */
  abandon(): void {
    this.state.inFlight = [];
  }
}
