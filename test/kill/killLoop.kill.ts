/**
 * The kill loop: 2,000 messages in a real IMAP server (Dovecot), drained by the
 * product's own command line in a child process that is killed -9 again and
 * again, at random moments spread over fetching a batch, handing it off and
 * settling it, and restarted every few seconds as the timer would, until the
 * mailbox is empty. Then every seeded message must be on the queue under its
 * id (or quarantined): none lost, duplicates only under the same id.
 *
 * Not part of `npm test` (it takes minutes): `npm run test:kill`.
 * KILL_LOOP_SEED, KILL_LOOP_MESSAGES and KILL_LOOP_KILLS change the run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOrCreateLocalCa } from '../../local/ca.js';
import { LEASE_SECONDS } from '../../shared/outbox/mailboxLease.js';
import { startTestStack, type TestStack } from '../support/localStack.js';
import { ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';
import { startDrainProcess, type DrainExit } from '../support/drainProcess.js';
import { startTcpFaultProxy, type TcpFaultProxy } from '../support/tcpFaults.js';
import { checkPromise, Deliveries, listFolder, seedBulk, variedMessages, type MailboxMessage } from '../faults/deliveryPromise.js';
import { prng } from '../support/prng.js';
import { exitPromptly } from '../support/exitPromptly.js';

const SEED = Number(process.env.KILL_LOOP_SEED ?? 20261121);
const MESSAGES = Number(process.env.KILL_LOOP_MESSAGES ?? 2_000);
const KILLS = Number(process.env.KILL_LOOP_KILLS ?? 26);
/** How often a timer would start the next run while the killed one's lease has not expired. */
const RESTART_EVERY_MS = 4_000;
/** A run that takes longer than this hangs: the loop fails rather than wait for ever. */
const RUN_LIMIT_MS = 5 * 60_000;
const LOOP_LIMIT_MS = 35 * 60_000;

type Phase = 'startup' | 'fetch' | 'hand-off' | 'settle' | 'between batches';

const dovecotAvailable = ensureDovecot();
const mailbox = 'kill-loop@contoso.example';
let stack: TestStack;
let dovecot: Dovecot;
/** A TLS hop between the drain and Dovecot whose rules only watch: they tell which phase the drain is in. */
let imapHop: TcpFaultProxy;

before(async () => {
  if (!dovecotAvailable.available) return;
  stack = await startTestStack();
  dovecot = await startDovecot({ entra: stack.entra, grants: [mailbox] });
  const ca = loadOrCreateLocalCa();
  imapHop = await startTcpFaultProxy({
    target: { host: '127.0.0.1', port: dovecot.port },
    tls: { ...ca.issue(['localhost']), ca: ca.certPem, servername: 'localhost' },
  });
});
after(async () => {
  await imapHop?.close();
  await dovecot?.stop();
  await stack?.stop();
});

test(
  `kill -9 the drain at ${KILLS} random moments while it drains ${MESSAGES} messages: none lost`,
  { skip: dovecotAvailable.available ? false : dovecotAvailable.reason, timeout: LOOP_LIMIT_MS + 5 * 60_000 },
  async (t) => {
    const started = Date.now();
    const random = prng(SEED);
    const between = (low: number, high: number) => low + random() * (high - low);

    const seededAt = Date.now();
    const seeded: MailboxMessage[] = await seedBulk(dovecot, mailbox, variedMessages('kill-loop', MESSAGES, { seed: SEED }));
    const seedMs = Date.now() - seededAt;

    // Where the current run is, from what crosses the IMAP hop: the batch FETCH (BODY.PEEK[]), its
    // completion (the hand-off starts), the UID MOVE (settle) and its completion.
    let phase: Phase = 'startup';
    const marks: Record<'fetch' | 'hand-off' | 'settle', number> = { fetch: 0, 'hand-off': 0, settle: 0 };
    const onPhase: ((phase: Phase) => void)[] = [];
    const enter = (next: Phase) => {
      phase = next;
      if (next === 'fetch' || next === 'hand-off' || next === 'settle') marks[next] += 1;
      for (const listener of onPhase) listener(next);
    };
    const watch = { action: 'none' as const, times: Infinity };
    imapHop.addRule({ ...watch, name: 'batch FETCH sent', direction: 'toServer', pattern: 'BODY.PEEK[]', onFire: () => enter('fetch') });
    imapHop.addRule({ ...watch, name: 'FETCH answered', direction: 'toClient', pattern: 'OK Fetch completed', onFire: () => phase === 'fetch' && enter('hand-off') });
    imapHop.addRule({ ...watch, name: 'UID MOVE sent', direction: 'toServer', pattern: 'UID MOVE', onFire: () => enter('settle') });
    imapHop.addRule({ ...watch, name: 'MOVE answered', direction: 'toClient', pattern: 'OK Move completed', onFire: () => enter('between batches') });

    const env = {
      ...stack.settings,
      ...stack.platformEnv,
      IMAP_HOST: 'localhost',
      IMAP_PORT: String(imapHop.port),
      MAILBOX: mailbox,
      LOG_LEVEL: 'info',
    };

    const killedIn: Record<Phase, number> = { startup: 0, fetch: 0, 'hand-off': 0, settle: 0, 'between batches': 0 };
    const outcomes = { runs: 0, killed: 0, skipped: 0, complete: 0, incomplete: 0, failed: 0 };
    const failures: string[] = [];
    let kills = 0;
    let done = false;

    while (!done) {
      assert.ok(Date.now() - started < LOOP_LIMIT_MS, `the loop ran over ${LOOP_LIMIT_MS / 60_000} minutes: ${JSON.stringify(outcomes)}`);
      phase = 'startup';
      for (const key of Object.keys(marks) as (keyof typeof marks)[]) marks[key] = 0;
      onPhase.length = 0;
      const child = startDrainProcess(env);
      outcomes.runs += 1;
      let killedAt: Phase | undefined;
      const kill = () => {
        if (killedAt) return;
        killedAt = phase;
        child.kill();
      };
      const timers: NodeJS.Timeout[] = [];
      if (kills < KILLS) {
        // One kill in six at a moment timed from the start (mostly before the lease is taken);
        // the others at the nth start of a phase of a batch, plus a random delay within it.
        if (random() < 1 / 6) {
          timers.push(setTimeout(kill, between(0, 4_000)));
        } else {
          const target = (['fetch', 'hand-off', 'settle'] as const)[Math.floor(random() * 3)]!;
          const nth = 1 + Math.floor(random() * 2);
          const delay = target === 'hand-off' ? between(0, 200) : between(0, 15);
          onPhase.push((entered) => {
            if (entered === target && marks[target] === nth) timers.push(setTimeout(kill, delay));
          });
        }
      }
      const limit = setTimeout(kill, RUN_LIMIT_MS);
      const exit: DrainExit = await child.exited;
      clearTimeout(limit);
      for (const timer of timers) clearTimeout(timer);

      if (killedAt && exit.signal === 'SIGKILL') {
        kills += 1;
        outcomes.killed += 1;
        killedIn[killedAt] += 1;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        continue;
      }
      if (exit.report?.skipped) {
        outcomes.skipped += 1;
      } else if (exit.code === 0) {
        outcomes.complete += 1;
        // Complete, and the kills are spent: the mailbox should be empty; check rather than trust.
        if (kills >= KILLS && (await listFolder(dovecot, mailbox, 'INBOX')).length === 0) done = true;
      } else {
        outcomes[exit.code === 1 ? 'incomplete' : 'failed'] += 1;
        failures.push(`run ${outcomes.runs} exited ${exit.code ?? exit.signal}: ${child.lines.filter((l) => /error|fail|stopping/i.test(l)).slice(-3).join(' | ')}`);
      }
      if (!done) await new Promise((resolve) => setTimeout(resolve, RESTART_EVERY_MS));
    }

    const deliveries = await new Deliveries(stack).collect();
    const report = await checkPromise(dovecot, mailbox, seeded, deliveries);
    const processed = await listFolder(dovecot, mailbox, 'Processed');
    const minutes = (Date.now() - started) / 60_000;
    const summary =
      `kill loop: ${MESSAGES} messages (seeded in ${(seedMs / 1000).toFixed(1)} s), ${kills} kills survived ` +
      `(${Object.entries(killedIn).map(([p, n]) => `${p} ${n}`).join(', ')}), ${outcomes.runs} runs ` +
      `(${outcomes.skipped} skipped on the lease, ${outcomes.complete} complete, ${outcomes.incomplete} incomplete, ${outcomes.failed} failed), ` +
      `messages lost: ${report.lost.length}, duplicates seen: ${report.duplicates} (all under their own id: ${report.wrongIds.length === 0}), ` +
      `delivered ${report.delivered}, quarantined ${report.quarantined}, left in the mailbox ${report.waiting + report.deliveredNotSettled}, ` +
      `copies in Processed ${processed.length}, ${minutes.toFixed(1)} min (lease ${LEASE_SECONDS} s, seed ${SEED})`;
    console.log(summary);
    t.diagnostic(summary);
    for (const failure of failures) t.diagnostic(failure);

    assert.equal(report.lost.length, 0, `lost: ${report.lost.slice(0, 10).join(', ')}`);
    assert.ok(kills >= Math.min(25, KILLS), `${kills} kills survived`);
    assert.deepEqual(report.settledUndelivered, [], 'no message left the mailbox before the queue had it');
    assert.deepEqual(report.wrongIds, [], 'duplicates only under the same id');
    assert.equal(report.strangers, 0);
    assert.equal(report.delivered + report.quarantined, MESSAGES, 'every message delivered or quarantined');
    assert.equal(report.waiting + report.deliveredNotSettled, 0, 'the mailbox is empty');
  },
);

exitPromptly();
