import type { Duplex } from 'node:stream';
import type { Connection } from './connection.js';
import { actionName, describeRule, type Direction } from './faultRule.js';
import type { ProxyState } from './proxyState.js';
import { RuleScanner } from './ruleScanner.js';

/** Bytes to forward at `due`, or the end of the stream (after everything before it). */
interface Chunk {
  data: Buffer | 'end';
  due: number;
}

/** One direction of one connection: bytes to `to`, in order, held back by delay and stalls, and cut short where a rule fires. */
export class Flow {
  /** Bytes of this stream delivered so far. */
  position = 0;
  private queue: Chunk[] = [];
  private timer?: NodeJS.Timeout;
  private readonly scanner: RuleScanner;

  constructor(
    readonly direction: Direction,
    private readonly to: Duplex,
    private readonly connection: Connection,
    private readonly proxy: ProxyState,
  ) {
    this.scanner = new RuleScanner(proxy.rules, direction, connection.index);
  }

  push(data: Buffer | 'end') {
    const due = Date.now() + this.proxy.delayMs;
    this.queue.push({ data, due: Math.max(due, this.queue.at(-1)?.due ?? 0) });
    this.pump();
  }

  /** Forwards what is due, unless the connection or the proxy is stalled or the connection closed. */
  pump() {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && !this.connection.closed && !this.connection.stalled && !this.proxy.stalled) {
      const head = this.queue[0]!;
      const wait = head.due - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => this.pump(), wait);
        return;
      }
      this.queue.shift();
      if (head.data === 'end') {
        this.to.end();
        continue;
      }
      const rest = this.forward(head.data);
      if (rest) this.queue.unshift({ data: rest, due: 0 });
    }
  }

  /** Forwards `data` up to the first rule that fires in it; returns what is left to forward later, if anything. */
  private forward(data: Buffer): Buffer | undefined {
    let chunk = data;
    for (;;) {
      const hit = this.scanner.firstFiring(chunk, this.position);
      if (!hit) {
        this.deliver(chunk);
        return undefined;
      }
      const { entry, offset } = hit;
      this.deliver(chunk.subarray(0, offset));
      chunk = chunk.subarray(offset);
      entry.fired += 1;
      const { rule } = entry;
      this.scanner.rearm(entry, this.position);
      const event = this.proxy.record({
        fault: rule.name ?? describeRule(rule),
        action: actionName(rule.action),
        connection: this.connection.index,
        direction: this.direction,
        position: this.position,
      });
      rule.onFire?.(event);
      const action = rule.action;
      if (action === 'cut' || action === 'reset') {
        this.connection.end(action);
        return undefined;
      }
      if (action === 'stall' || typeof action === 'object') {
        this.connection.stall(typeof action === 'object' ? action.stallMs : undefined);
        return chunk.length > 0 ? chunk : undefined;
      }
      // 'none': go on with the rest of the chunk.
    }
  }

  private deliver(chunk: Buffer) {
    if (chunk.length === 0) return;
    this.position += chunk.length;
    this.proxy.bytes[this.direction] += chunk.length;
    this.to.write(chunk);
  }
}
