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
 * two minutes. A message streamed (parsed, or to quarantine) needs its
 * upload's whole deadline, which allows for twice its size: about six and a
 * half minutes for 150 MB.
 */
export const SETTLE_RESERVE_MS = 60_000;
const RESERVE_MS_PER_MIB = 1_000;

/**
 * Messages larger than this are stream-parsed one at a time; smaller ones are
 * fetched in batches and parsed whole. Parsing whole costs about five times the
 * message (the raw Buffer, simpleParser's attachment Buffers, the bodies as
 * strings and their UTF-8 copies for upload), several hand-offs at once;
 * streaming costs a floor of about 25 MiB whatever the size (two 4 MiB upload
 * blocks for the raw blob and as many for the attachment or body being
 * written) and one IMAP round trip per 64 KiB. The two meet near 5 MiB: at
 * 4 MiB a message parsed whole costs no more than a streamed one, and the great
 * majority of mail, far smaller, keeps the batch FETCH's single round trip.
 */
export const STREAM_PARSE_BYTES = 4 * 1024 * 1024;
/**
 * What a streamed step holds in memory, whatever the message's size: the floor
 * above, rounded up. The drain's bytes in flight count this for it, not its size.
 */
export const STREAMED_STEP_BYTES = 32 * 1024 * 1024;

/**
 * How a step's messages travel:
 * - `fetched`: fetched together in one FETCH, each parsed whole in memory;
 * - `streamed`: one message over STREAM_PARSE_BYTES, streamed from the mailbox
 *   to its blobs while it is parsed (handOffStreamed.ts);
 * - `oversized`: one message over MAX_MESSAGE_BYTES, streamed to quarantine unparsed.
 */
export type StepKind = 'fetched' | 'streamed' | 'oversized';

/**
 * One step of the drain: messages fetched, handed off and settled together.
 * `alone`: no other step is in flight beside it: a message streamed to
 * quarantine may hold the IMAP session for minutes, and a message that was in
 * flight when a drain died must be the only one a death could be
 * counted against.
 */
export interface Step {
  messages: PendingMessage[];
  kind: StepKind;
  alone: boolean;
}

/**
 * The steps, in order: messages too large to parse, streamed to quarantine one
 * by one; then the suspects (in flight when a drain died, not tried alone
 * since), one at a time, so that a death counts only against the one message
 * that was in flight (attemptLedger.ts);
 * then the rest in UID order: batches bounded by count and bytes, and each
 * message over STREAM_PARSE_BYTES a streamed step of its own where it falls.
 */
export function plan(pending: PendingMessage[], suspects: Set<number>, maxMessageBytes: number): Step[] {
  const oversized = pending.filter((m) => m.size > maxMessageBytes);
  const rest = pending.filter((m) => m.size <= maxMessageBytes);
  const alone = rest.filter((m) => suspects.has(m.uid)).map((m) => ({ messages: [m], kind: kindOf(m), alone: true }));
  const steps: Step[] = [];
  let small: PendingMessage[] = [];
  const flush = () => {
    steps.push(...inBatches(small).map((messages) => ({ messages, kind: 'fetched' as const, alone: false })));
    small = [];
  };
  for (const message of rest.filter((m) => !suspects.has(m.uid))) {
    if (kindOf(message) === 'fetched') {
      small.push(message);
      continue;
    }
    flush();
    steps.push({ messages: [message], kind: 'streamed', alone: false });
  }
  flush();
  return [...oversized.map((m) => ({ messages: [m], kind: 'oversized' as const, alone: true })), ...alone, ...steps];
}

function kindOf(message: PendingMessage): 'fetched' | 'streamed' {
  return message.size > STREAM_PARSE_BYTES ? 'streamed' : 'fetched';
}

/** The bytes a step moves (RFC822.SIZE, as the server reported it). */
export function bytesOf(step: Step): number {
  return step.messages.reduce((n, m) => n + m.size, 0);
}

/** The bytes a step holds in memory while in flight: a streamed step holds a bounded amount whatever its size. */
export function memoryOf(step: Step): number {
  return step.kind === 'fetched' ? bytesOf(step) : Math.min(bytesOf(step), STREAMED_STEP_BYTES);
}

/** Time a step needs between its start and the deadline. */
export function reserveFor(step: Step): number {
  const bytes = bytesOf(step);
  // A streamed upload may run until its own deadline (Outbox.putBlobStream: twice the size, streamMessage's ceiling).
  if (step.kind !== 'fetched') return SETTLE_RESERVE_MS + storageDeadlineMs(bytes * 2);
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
