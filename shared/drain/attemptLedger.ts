/**
 * The attempt ledger: how often each message failed, across runs, and which
 * messages a step is handing off right now. It lives in the mailbox lease's
 * state blob (Exchange Online has no custom IMAP keywords to keep it in), is
 * saved through the lease, and this type is the only code that changes it.
 *
 * What counts as an attempt: a failure that was the message's own (see
 * `own` in HandOffResult), and a drain that died while the message was the
 * only one in flight. A passing failure (Storage or the network down) never
 * counts. Several steps may be in flight at once: each adds its UIDs and
 * removes them when it is done. A death with several messages in flight
 * names none of them: each becomes a suspect, and suspects are tried alone,
 * one at a time, before anything else, until each has been (a drain that dies
 * before it gets to them leaves them suspects), so that a death blames the
 * one message that was in flight. Counting every message in flight instead
 * (as this once did) let deaths that were not theirs (a host killing the
 * process, a restart) add up against the same first messages in the folder
 * run after run until they were quarantined, mail already handed off included.
 */
import type { HandOffResult } from './handOff.js';
import type { DrainState } from '../outbox/mailboxLease.js';

/** Where the ledger is kept: the lease's state, written back by save(). */
export interface LedgerStore {
  readonly state: DrainState;
  save(): Promise<void>;
}

export class AttemptLedger {
  /** The save under way, and the one that will start after it (covering every change made until it starts). */
  private saving: Promise<void> = Promise.resolve();
  private next: Promise<void> | undefined;

  constructor(private readonly store: LedgerStore) {}

  private get state(): DrainState {
    return this.store.state;
  }

  /** Failed attempts of `uid` so far. */
  attemptsOf(uid: number): number {
    return this.state.attempts[uid] ?? 0;
  }

  /**
   * At the start of a drain, with the folder's UIDVALIDITY and the UIDs it
   * holds. A new UIDVALIDITY renumbered the folder: the old counts name other
   * messages now, and are dropped. UIDs still in flight were being handed off
   * when the last drain died: when one alone was, that counts as an attempt of
   * it; either way they join the suspects, which are returned (those still in
   * the folder) to be tried alone. Counts of messages no longer in the folder
   * are forgotten. Saved when anything changed.
   */
  async recover(uidValidity: number, present: Set<number>): Promise<{ suspects: Set<number>; renumberedFrom?: number }> {
    const before = JSON.stringify(this.state);
    const previous = this.state.uidValidity;
    const renumberedFrom = previous !== undefined && previous !== uidValidity ? previous : undefined;
    if (renumberedFrom !== undefined) {
      this.state.attempts = {};
      this.state.inFlight = [];
      this.state.suspects = [];
    }
    this.state.uidValidity = uidValidity;
    const [alone, ...others] = this.state.inFlight;
    if (alone !== undefined && others.length === 0 && present.has(alone)) this.state.attempts[alone] = this.attemptsOf(alone) + 1;
    const suspects = new Set([...this.state.suspects, ...this.state.inFlight].filter((uid) => present.has(uid)));
    for (const uid of Object.keys(this.state.attempts)) if (!present.has(Number(uid))) delete this.state.attempts[uid];
    this.state.inFlight = [];
    this.state.suspects = [...suspects].sort((x, y) => x - y);
    if (JSON.stringify(this.state) !== before) await this.save();
    return { suspects, renumberedFrom };
  }

  /**
   * Once a step's bytes are in hand and just before they are parsed and handed
   * off, the stretch where a message can kill the process: a drain that dies
   * now is counted against these UIDs. Not before (a death while fetching is
   * the network's or the host's), nor after (settle() clears it before the
   * mailbox is touched).
   */
  async begin(uids: number[]): Promise<void> {
    this.state.inFlight = [...new Set([...this.state.inFlight, ...uids])];
    await this.save();
  }

  /**
   * After a step's hand-offs, before the mailbox is touched: own failures
   * count, a handed-off or quarantined message is forgotten, whatever happens
   * to the process before it is settled; the step's UIDs are no longer in
   * flight (those without a result were left for the next run), and one with
   * a result, whatever it is, is no longer a suspect: it was tried.
   */
  async settle(uids: number[], results: HandOffResult[]): Promise<void> {
    for (const r of results) {
      if (r.outcome !== 'failed') delete this.state.attempts[r.uid];
      else if (r.own) this.state.attempts[r.uid] = this.attemptsOf(r.uid) + 1;
    }
    const tried = new Set(results.map((r) => r.uid));
    this.state.suspects = this.state.suspects.filter((uid) => !tried.has(uid));
    this.forget(uids);
    await this.save();
  }

  /** A step that ended without results (the session or Storage went away): nothing counts for its UIDs. Best effort. */
  async abandon(uids: number[]): Promise<void> {
    this.forget(uids);
    await this.save().catch(() => {});
  }

  private forget(uids: number[]): void {
    const done = new Set(uids);
    this.state.inFlight = this.state.inFlight.filter((uid) => !done.has(uid));
  }

  /**
   * Steps overlap, so saves are asked for while one is under way. They run one
   * at a time (two uploads in flight could land in either order, leaving the
   * older state in the blob), and every caller waits for a save that started
   * after its change: the state is serialised when an upload starts.
   */
  private save(): Promise<void> {
    this.next ??= this.saving
      .catch(() => {})
      .then(() => {
        this.next = undefined;
        return this.store.save();
      });
    this.saving = this.next;
    return this.next;
  }
}
