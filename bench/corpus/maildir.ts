/**
 * Puts the corpus into a Dovecot user's INBOX as Maildir files, as a local
 * delivery agent does, one message at a time (test/support/dovecot.ts's
 * deliver() takes them all at once, and a 50,000-message corpus is 8 GB), then
 * has Dovecot index the folder, so that each measured run starts from the same
 * state: UIDs assigned, sizes known (from the file names), files just written
 * and so in the page cache.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Dovecot } from '../../test/support/dovecot.js';
import type { BenchMessage } from './corpus.js';

export interface Seeded {
  messages: number;
  bytes: number;
  /** Writing the files, and Dovecot's indexing of them. */
  writeMs: number;
  indexMs: number;
}

function dovecotIds(): [number, number] {
  const [uid, gid] = ['-u', '-g'].map((flag) => Number(spawnSync('id', [flag, 'dovecot'], { encoding: 'utf8' }).stdout.trim()));
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('No "dovecot" system user; is dovecot-imapd installed?');
  return [uid!, gid!];
}

/** The user's home, as the generated dovecot.conf's userdb names it (home=<dir>/home/%Lu). */
function homeOf(dovecot: Dovecot, user: string): string {
  return join(dirname(dovecot.configPath), 'home', user.toLowerCase());
}

/** Writes `messages` into `user`'s new/ and lets Dovecot index them; the user must have been granted already. */
export async function seedMaildir(dovecot: Dovecot, user: string, messages: Iterable<BenchMessage>): Promise<Seeded> {
  const [uid, gid] = dovecotIds();
  const home = homeOf(dovecot, user);
  const maildir = join(home, 'Maildir');
  for (const dir of [home, maildir, ...['cur', 'new', 'tmp'].map((sub) => join(maildir, sub))]) {
    mkdirSync(dir, { recursive: true });
    chownSync(dir, uid, gid);
  }
  const started = performance.now();
  const stamp = Math.floor(Date.now() / 1000);
  let count = 0;
  let bytes = 0;
  for (const message of messages) {
    // S= and W= in the name give Dovecot the physical and virtual (CRLF) size, equal here, without reading the file.
    const file = join(maildir, 'new', `${stamp}.M${String(message.index).padStart(6, '0')}P${process.pid}.bench,S=${message.raw.length},W=${message.raw.length}`);
    writeFileSync(file, message.raw);
    chownSync(file, uid, gid);
    count++;
    bytes += message.raw.length;
  }
  const written = performance.now();
  // STATUS syncs new/ into the index: UIDs are assigned now, not on the measured run's SELECT.
  const status = (await dovecot.doveadm(['-f', 'flow', 'mailbox', 'status', '-u', user, 'messages vsize', 'INBOX'])).toString('utf8');
  const found = Number(/messages=(\d+)/.exec(status)?.[1]);
  if (found !== count) throw new Error(`Dovecot indexed ${found} of the ${count} messages written to ${maildir}: ${status}`);
  return { messages: count, bytes, writeMs: written - started, indexMs: performance.now() - written };
}

/** Removes the user's mail store (its Processed folder too), once its runs are over: a full corpus is 335 MB a copy. */
export function removeMaildir(dovecot: Dovecot, user: string): void {
  rmSync(homeOf(dovecot, user), { recursive: true, force: true });
}
