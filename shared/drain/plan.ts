/**
 * The drain's steps and its limits: what is fetched together, in which order,
 * and when there is no longer time to start a step.
 */
import type { PendingMessage } from '../mailbox/mailbox.js';
import { storageDeadlineMs } from '../outbox/storageLimits.js';

/** Messages fetched at once: bounds memory together with BATCH_BYTES. */
export const BATCH_SIZE = 25;
/** Bytes fetched at once; a single larger message still makes its own batch. */
export const BATCH_BYTES = 64 * 1024 * 1024;
/**
 * Time kept back from the deadline to finish a step (fetch, hand off, settle):
 * a minute for the commands, plus a second per MiB the step moves, the floor
 * rate every Storage call is given (storageLimits.ts). A 64 MiB batch needs about
 * two minutes. A message streamed to quarantine needs its upload's whole
 * deadline, which allows for twice its size: about six and a half minutes for
 * 150 MB.
 */
export const SETTLE_RESERVE_MS = 60_000;
const RESERVE_MS_PER_MIB = 1_000;

/**
 * One step of the drain: messages fetched, handed off and settled together.
 * `streamed`: one message too large to parse, streamed to quarantine.
 * `alone`: no other step is in flight beside it: a message streamed holds the
 * IMAP session throughout, and a message that was in flight when a drain died
 * must be the only one a second death could be counted against.
 */
export interface Step {
  messages: PendingMessage[];
  streamed: boolean;
  alone: boolean;
}

/**
 * The steps, in order: messages too large to parse, streamed to quarantine one
 * by one; then messages that were in flight when a drain died, one at a time
 * (so that the one that kills the process is the only one counted again);
 * then the rest in batches bounded by count and bytes.
 */
export function plan(pending: PendingMessage[], suspects: Set<number>, maxMessageBytes: number): Step[] {
  const oversized = pending.filter((m) => m.size > maxMessageBytes);
  const rest = pending.filter((m) => m.size <= maxMessageBytes);
  const alone = rest.filter((m) => suspects.has(m.uid)).map((m) => [m]);
  const batches = inBatches(rest.filter((m) => !suspects.has(m.uid)));
  return [
    ...oversized.map((m) => ({ messages: [m], streamed: true, alone: true })),
    ...alone.map((messages) => ({ messages, streamed: false, alone: true })),
    ...batches.map((messages) => ({ messages, streamed: false, alone: false })),
  ];
}

/** The bytes a step moves (RFC822.SIZE, as the server reported it). */
export function bytesOf(step: Step): number {
  return step.messages.reduce((n, m) => n + m.size, 0);
}

/** Time a step needs between its start and the deadline. */
export function reserveFor(step: Step): number {
  const bytes = bytesOf(step);
  // The stream's upload may run until its own deadline (Outbox.putBlobStream: twice the size, streamMessage's ceiling).
  if (step.streamed) return SETTLE_RESERVE_MS + storageDeadlineMs(bytes * 2);
  return SETTLE_RESERVE_MS + Math.ceil(bytes / (1024 * 1024)) * RESERVE_MS_PER_MIB;
}

/** Splits pending messages into batches bounded by count and bytes, keeping UID order. */
export function inBatches(pending: PendingMessage[], maxCount = BATCH_SIZE, maxBytes = BATCH_BYTES): PendingMessage[][] {
  const batches: PendingMessage[][] = [];
  let current: PendingMessage[] = [];
  let bytes = 0;
  for (const message of pending) {
    if (current.length > 0 && (current.length >= maxCount || bytes + message.size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += message.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
