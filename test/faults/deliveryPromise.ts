/**
 * The delivery promise, checked from the outside: every seeded message ends
 * on the queue under its `id`, or is still in the mailbox, or is quarantined;
 * none is lost; none left the mailbox without being on the queue (or, for a
 * quarantined one, on the poison queue); duplicates only ever carry the same
 * `id`. The mailbox is read with doveadm, the queues with the Storage SDK:
 * nothing is taken from the drain's own report.
 */
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { messageKey, type PoisonMessage, type QueueMessage } from '../../shared/contract/queueMessage.js';
import type { Dovecot } from '../support/dovecot.js';
import type { TestStack } from '../support/localStack.js';
import { prng } from '../support/prng.js';

export interface SeededMessage {
  messageId: string;
  raw: Buffer;
}

/** A seeded message once Dovecot has it: the UID it got and so the id the drain must give it. */
export interface MailboxMessage extends SeededMessage {
  uid: number;
  id: string;
}

const KINDS = ['plain', 'html', 'alternative', 'attachment', 'non-ascii', 'long'] as const;

/**
 * `count` small messages of varied kinds (plain, HTML only, alternative, a small
 * attachment, non-ASCII, a longer body), each with a unique Message-ID, CRLF
 * line ends as IMAP serves them. `bodyBytes` pads every body to at least that.
 */
export function variedMessages(tag: string, count: number, options: { seed?: number; bodyBytes?: number } = {}): SeededMessage[] {
  const random = prng(options.seed ?? 1);
  return Array.from({ length: count }, (_, i) => {
    const messageId = `<${tag}-${i}@faults.mail-drain.test>`;
    const kind = KINDS[i % KINDS.length]!;
    const filler = 'lorem ipsum dolor sit amet '.repeat(1 + Math.floor(random() * 20));
    const padding = options.bodyBytes ? `${'x'.repeat(76)}\r\n`.repeat(Math.ceil(options.bodyBytes / 78)) : '';
    const text = `Message ${i} of ${count} (${kind}).\r\n${filler}\r\n${padding}`;
    const head = [
      `From: Sender ${i % 7} <sender${i % 7}@example.com>`,
      `To: Shared <shared@contoso.example>`,
      `Message-ID: ${messageId}`,
      `Date: ${new Date(Date.UTC(2026, 10, 20, 8, 0, i % 3600)).toUTCString().replace('GMT', '+0000')}`,
      'MIME-Version: 1.0',
    ];
    let rest: string;
    switch (kind) {
      case 'plain':
        rest = `Subject: ${tag} ${i}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${text}`;
        break;
      case 'html':
        rest = `Subject: ${tag} ${i}\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<p>${text}</p>\r\n`;
        break;
      case 'alternative':
        rest =
          `Subject: ${tag} ${i}\r\nContent-Type: multipart/alternative; boundary="alt${i}"\r\n\r\n` +
          `--alt${i}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${text}\r\n` +
          `--alt${i}\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<p>${text}</p>\r\n--alt${i}--\r\n`;
        break;
      case 'attachment':
        rest =
          `Subject: ${tag} ${i}\r\nContent-Type: multipart/mixed; boundary="mix${i}"\r\n\r\n` +
          `--mix${i}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${text}\r\n` +
          `--mix${i}\r\nContent-Type: text/csv; name="lines-${i}.csv"\r\nContent-Disposition: attachment; filename="lines-${i}.csv"\r\n` +
          `Content-Transfer-Encoding: base64\r\n\r\n${Buffer.from(`line,amount\r\n${i},${(random() * 1000).toFixed(2)}\r\n`).toString('base64')}\r\n--mix${i}--\r\n`;
        break;
      case 'non-ascii':
        rest =
          `Subject: =?UTF-8?B?${Buffer.from(`${tag} ${i}: Grüße, 請求書, счёт`).toString('base64')}?=\r\n` +
          `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln. 請求書 ${i}.\r\n${text}`;
        break;
      case 'long':
        rest = `Subject: ${tag} ${i}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${text}${`${filler}\r\n`.repeat(40)}`;
        break;
    }
    return { messageId, raw: Buffer.from(`${head.join('\r\n')}\r\n${rest}`, 'utf8') };
  });
}

/**
 * Stores `messages` in the user's INBOX with one `doveadm import` of a maildir
 * written for it: 2,000 messages in a few seconds, where one `doveadm save` each
 * takes a minute. Returns them with the UID Dovecot gave each, in order.
 */
export async function seedBulk(dovecot: Dovecot, user: string, messages: SeededMessage[]): Promise<MailboxMessage[]> {
  const folder = 'INBOX';
  const before = (await listFolder(dovecot, user, folder)).length;
  // Inside the instance's directory, owned by the user doveadm runs as: it writes the source's indexes.
  const source = mkdtempSync(join(dirname(dovecot.configPath), 'import-'));
  try {
    const dirs = ['cur', 'new', 'tmp'].map((sub) => join(source, sub));
    // Maildir names: <time>.<unique>.<host>:2,<flags>; the order of the times is the order of the UIDs.
    const files = messages.map((_, i) => join(source, 'cur', `${1_700_000_000 + i}.M${i}P1.seed:2,`));
    for (const dir of dirs) mkdirSync(dir);
    messages.forEach((m, i) => writeFileSync(files[i]!, m.raw));
    const [uid, gid] = ['-u', '-g'].map((flag) => Number(spawnSync('id', [flag, 'dovecot'], { encoding: 'utf8' }).stdout.trim()));
    for (const path of [source, ...dirs, ...files]) chownSync(path, uid!, gid!);
    // The source maildir's root is its INBOX; an empty parent puts it in the user's INBOX.
    await dovecot.doveadm(['import', '-u', user, `maildir:${source}`, '', 'mailbox', 'INBOX', 'all']);
  } finally {
    rmSync(source, { recursive: true, force: true });
  }
  // doveadm import exits 0 even when it could not read a message: count them.
  const listed = await listFolder(dovecot, user, folder);
  assert.equal(listed.length, before + messages.length, `doveadm import stored ${listed.length - before} of ${messages.length} messages`);
  const bySeed = new Map(messages.map((m) => [m.messageId, m]));
  const uidValidity = await folderUidValidity(dovecot, user, folder);
  return listed.slice(before).map(({ uid, messageId }) => {
    const seeded = bySeed.get(messageId);
    assert.ok(seeded, `UID ${uid} (${messageId}) was not seeded`);
    return { ...seeded, uid, id: messageKey(user, folder, uidValidity, uid) };
  });
}

/** UID and Message-ID of every message in a folder, in one doveadm call ([] for a missing folder). */
export async function listFolder(dovecot: Dovecot, user: string, folder: string): Promise<{ uid: number; messageId: string }[]> {
  if (!(await dovecot.folders(user).catch((): string[] => [])).includes(folder)) return [];
  const out = await dovecot.doveadm(['-f', 'tab', 'fetch', '-u', user, 'uid hdr.message-id', 'mailbox', folder, 'all']);
  return out
    .toString('utf8')
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((line) => {
      const [uid, messageId = ''] = line.split('\t');
      return { uid: Number(uid), messageId: messageId.trim() };
    });
}

export async function folderUidValidity(dovecot: Dovecot, user: string, folder: string): Promise<number> {
  const out = (await dovecot.doveadm(['-f', 'flow', 'mailbox', 'status', '-u', user, 'uidvalidity', folder])).toString();
  return Number(/uidvalidity=(\d+)/.exec(out)?.[1]);
}

/** Everything read off the queues so far: reading deletes, so a test keeps what it read here. */
export class Deliveries {
  readonly queued: QueueMessage[] = [];
  readonly poisoned: PoisonMessage[] = [];

  constructor(private readonly stack: TestStack) {}

  /** Moves what is on the queue and the poison queue now into this record. */
  async collect(): Promise<this> {
    this.queued.push(...(await this.stack.drainQueue()));
    this.poisoned.push(...(await this.stack.drainPoisonQueue()));
    return this;
  }
}

export interface PromiseReport {
  seeded: number;
  /** Seeded messages on the queue (each counted once). */
  delivered: number;
  /** Seeded messages still in the drained folder and not on the queue (waiting for the next run). */
  waiting: number;
  /** Seeded messages on the queue and still in the drained folder: handed off, not settled. */
  deliveredNotSettled: number;
  quarantined: number;
  /** Message-IDs of seeded messages that are nowhere. */
  lost: string[];
  /** Queue messages beyond the first for a seeded message. */
  duplicates: number;
  /** Message-IDs whose queue messages carry an id other than the one the message's UID gives. */
  wrongIds: string[];
  /** Message-IDs that left the drained folder (to Processed or Failed) without being on the queue or poison queue. */
  settledUndelivered: string[];
  /** Queue messages for nothing that was seeded. */
  strangers: number;
}

/**
 * Checks the promise for `seeded` (in `folder` of `user`): where each message is
 * now, in Dovecot and on the queues read so far.
 */
export async function checkPromise(
  dovecot: Dovecot,
  user: string,
  seeded: MailboxMessage[],
  deliveries: Deliveries,
  folders: { drained?: string; processed?: string; failed?: string } = {},
): Promise<PromiseReport> {
  const { drained = 'INBOX', processed = 'Processed', failed = 'Failed' } = folders;
  const mine = new Map(seeded.map((m) => [m.messageId, m]));
  const byId = new Map(seeded.map((m) => [m.id, m]));
  const inFolder = async (folder: string) => new Set((await listFolder(dovecot, user, folder)).map((m) => m.messageId));
  const [waitingIds, processedIds, failedIds] = [await inFolder(drained), await inFolder(processed), await inFolder(failed)];

  const queuedBy = new Map<string, string[]>();
  let strangers = 0;
  for (const message of deliveries.queued) {
    // A claim-checked envelope may leave messageId out; the id still names the message.
    const seededMessage = (message.messageId && mine.get(message.messageId)) || byId.get(message.id);
    if (!seededMessage) {
      strangers += 1;
      continue;
    }
    queuedBy.set(seededMessage.messageId, [...(queuedBy.get(seededMessage.messageId) ?? []), message.id]);
  }
  const poisonedIds = new Set(deliveries.poisoned.map((p) => byId.get(p.id)?.messageId).filter((id): id is string => id !== undefined));

  const report: PromiseReport = {
    seeded: seeded.length,
    delivered: 0,
    waiting: 0,
    deliveredNotSettled: 0,
    quarantined: 0,
    lost: [],
    duplicates: 0,
    wrongIds: [],
    settledUndelivered: [],
    strangers,
  };
  for (const message of seeded) {
    const ids = queuedBy.get(message.messageId) ?? [];
    const onQueue = ids.length > 0;
    const waiting = waitingIds.has(message.messageId);
    const quarantined = poisonedIds.has(message.messageId);
    if (onQueue) report.delivered += 1;
    if (onQueue && waiting) report.deliveredNotSettled += 1;
    if (!onQueue && waiting) report.waiting += 1;
    if (quarantined) report.quarantined += 1;
    if (!onQueue && !waiting && !quarantined) report.lost.push(message.messageId);
    report.duplicates += Math.max(0, ids.length - 1);
    if (ids.some((id) => id !== message.id)) report.wrongIds.push(message.messageId);
    if ((processedIds.has(message.messageId) && !onQueue) || (failedIds.has(message.messageId) && !quarantined)) {
      report.settledUndelivered.push(message.messageId);
    }
  }
  return report;
}

/** Nothing lost, nothing settled before the queue had it, duplicates only under the same id. */
export function assertPromiseKept(report: PromiseReport, context = ''): void {
  const where = `${context ? `${context}: ` : ''}${JSON.stringify({ ...report, lost: report.lost.slice(0, 5), settledUndelivered: report.settledUndelivered.slice(0, 5) })}`;
  assert.deepEqual(report.lost, [], `no message lost (${where})`);
  assert.deepEqual(report.settledUndelivered, [], `no message left the mailbox before the queue had it (${where})`);
  assert.deepEqual(report.wrongIds, [], `every queue message carries its message's id (${where})`);
  assert.equal(report.strangers, 0, `nothing on the queue that was not seeded (${where})`);
}

/** The promise kept, and the run over: every message on the queue or quarantined, none waiting. */
export function assertAllDelivered(report: PromiseReport, context = ''): void {
  assertPromiseKept(report, context);
  assert.equal(report.waiting + report.deliveredNotSettled, 0, `${context ? `${context}: ` : ''}nothing left in the mailbox (${JSON.stringify(report)})`);
  assert.equal(report.delivered + report.quarantined, report.seeded, `${context ? `${context}: ` : ''}every message delivered or quarantined`);
}
