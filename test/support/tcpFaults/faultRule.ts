/**
 * What a fault rule says (which stream, where, what happens) and how faults
 * are logged.
 */

export type Direction = 'toServer' | 'toClient';

/** What a fault does to the connection it hits. `none` only calls `onFire` (a hook at that byte). */
export type FaultAction = 'cut' | 'reset' | 'stall' | { stallMs: number } | 'none';

export interface FaultRule {
  /** Which stream of a connection the rule watches. */
  direction: Direction;
  /** Fires once this many bytes of the stream have passed (per connection). */
  afterBytes?: number;
  /** Fires where this text (latin1) or these bytes are seen in the stream... */
  pattern?: string | Buffer;
  /** ...the `occurrence`th time it is seen on the connection (default 1)... */
  occurrence?: number;
  /** ...right before the pattern's first byte (the pattern is never delivered)... */
  before?: boolean;
  /** ...or this many bytes after its last one (default 0: right after it). */
  thenBytes?: number;
  action: FaultAction;
  /** How many times the rule fires, on different connections or the same one (default 1). */
  times?: number;
  /** Only on the proxy's Nth connection (1-based). */
  connection?: number;
  /** Called when the rule fires, before the action (e.g. to restart the server). */
  onFire?: (event: FaultEvent) => void;
  /** A name for the events log. */
  name?: string;
}

export interface FaultEvent {
  /** The rule's name, or the command that caused it ('cutAll', 'stall'...). */
  fault: string;
  action: string;
  connection: number;
  direction?: Direction;
  /** Bytes of that stream delivered before the fault. */
  position?: number;
  at: number;
}

/** A rule as the proxy holds it: how often it has fired, and whether it was removed. */
export interface RuleEntry {
  rule: FaultRule;
  fired: number;
  removed: boolean;
}

/** The action as the events log names it. */
export function actionName(action: FaultAction): string {
  return typeof action === 'object' ? `stall ${action.stallMs} ms` : action;
}

/** A rule without a name, as the events log names it: its stream and where it fires. */
export function describeRule(rule: FaultRule): string {
  const where =
    rule.afterBytes !== undefined
      ? `after byte ${rule.afterBytes}`
      : `${rule.before ? 'before' : 'after'} ${JSON.stringify(rule.pattern?.toString('latin1'))}` +
        `${rule.occurrence ? ` #${rule.occurrence}` : ''}${rule.thenBytes ? ` + ${rule.thenBytes} bytes` : ''}`;
  return `${rule.direction} ${where}`;
}
