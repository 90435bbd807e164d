import type { Direction, FaultEvent, RuleEntry } from './faultRule.js';

/** What the connections of one proxy share: its rules, its log of faults, its byte counts, and the proxy-wide delay and stall. */
export class ProxyState {
  readonly rules: RuleEntry[] = [];
  readonly events: FaultEvent[] = [];
  /** Bytes forwarded so far, per stream, over all connections. */
  readonly bytes: Record<Direction, number> = { toServer: 0, toClient: 0 };
  /** Connections accepted so far, refused ones included: the last one's index. */
  connections = 0;
  /** While set, no connection forwards anything (on top of each connection's own stall). */
  stalled = false;
  /** How long every chunk waits before it is forwarded. */
  delayMs = 0;

  /** Logs a fault, stamped with the time, and returns the entry. */
  record(event: Omit<FaultEvent, 'at'>): FaultEvent {
    const full = { ...event, at: Date.now() };
    this.events.push(full);
    return full;
  }
}
