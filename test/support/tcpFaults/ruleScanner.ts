import type { Direction, RuleEntry } from './faultRule.js';

/**
 * Where a rule fires on this stream, once known; the last bytes seen (a pattern may span
 * chunks) and the matches counted; where matches may start (not inside one that fired); and
 * whether a byte-count rule is spent here.
 */
interface Mark {
  firePos?: number;
  tail: Buffer;
  seen: number;
  searchFrom: number;
  spent: boolean;
}

/** Finds where the proxy's rules fire in one stream of one connection, as its bytes go by. */
export class RuleScanner {
  private readonly marks = new Map<RuleEntry, Mark>();

  constructor(
    /** The proxy's rules: the live list, so rules added later apply too. */
    private readonly rules: readonly RuleEntry[],
    private readonly direction: Direction,
    private readonly connection: number,
  ) {}

  /** The rule that fires first in `chunk`, which starts at stream position `position`, and its offset in the chunk. */
  firstFiring(chunk: Buffer, position: number): { entry: RuleEntry; offset: number } | undefined {
    let best: { entry: RuleEntry; offset: number } | undefined;
    for (const entry of this.rules) {
      const { rule } = entry;
      if (entry.removed || rule.direction !== this.direction || entry.fired >= (rule.times ?? 1)) continue;
      if (rule.connection !== undefined && rule.connection !== this.connection) continue;
      let mark = this.marks.get(entry);
      if (!mark) {
        mark = { firePos: rule.afterBytes, tail: Buffer.alloc(0), seen: 0, searchFrom: 0, spent: false };
        this.marks.set(entry, mark);
      }
      if (mark.spent) continue;
      if (mark.firePos === undefined && rule.pattern !== undefined) {
        const pattern = typeof rule.pattern === 'string' ? Buffer.from(rule.pattern, 'latin1') : rule.pattern;
        const window = Buffer.concat([mark.tail, chunk]);
        let from = 0;
        for (let found = window.indexOf(pattern, from); found >= 0; found = window.indexOf(pattern, from)) {
          const start = position - mark.tail.length + found;
          if (start < mark.searchFrom) {
            from = found + 1;
            continue;
          }
          from = found + pattern.length;
          if (++mark.seen < (rule.occurrence ?? 1)) continue;
          mark.firePos = rule.before ? start : start + pattern.length + (rule.thenBytes ?? 0);
          break;
        }
        // Keep the end that could begin a match, but never bytes of a match already counted.
        if (mark.firePos === undefined) mark.tail = window.subarray(Math.max(from, window.length - (pattern.length - 1)));
      }
      if (mark.firePos === undefined || mark.firePos > position + chunk.length) continue;
      const offset = Math.max(0, mark.firePos - position);
      if (!best || offset < best.offset) best = { entry, offset };
    }
    return best;
  }

  /** After `entry` fired at `position`: armed again for its next firing (times > 1), after the match that fired, or never again here for a byte count. */
  rearm(entry: RuleEntry, position: number): void {
    const { rule } = entry;
    const matchedLength = rule.before && rule.pattern !== undefined ? Buffer.byteLength(rule.pattern, 'latin1') : 0;
    this.marks.set(entry, { tail: Buffer.alloc(0), seen: 0, searchFrom: position + matchedLength, spent: rule.afterBytes !== undefined });
  }
}
