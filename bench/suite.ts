/**
 * One profile's measurements over the corpus, each in its own process, each
 * on fresh services: a new mailbox seeded for every run that changes one (the
 * drain and the baseline move what they take), a new Azurite for every run
 * that writes to Storage. The IMAP stage only reads, so it reads the drain's
 * mailbox just before the drain does.
 */
import { fileURLToPath } from 'node:url';
import type { LocalStack } from '../local/stack.js';
import { EXCHANGE_AUDIENCE, IMAP_ROLE } from '../local/stack.js';
import type { Dovecot } from '../test/support/dovecot.js';
import { corpus, SINGLE_LARGE_BYTES, type CorpusOptions } from './corpus/corpus.js';
import { removeMaildir, seedMaildir, type Seeded } from './corpus/maildir.js';
import type { ChildConfig } from './measure/childIo.js';
import { runChild, type Outcome } from './measure/runChild.js';
import { PROFILES, route, startBenchStorage, type ProfileName } from './network/profiles.js';
import type { BenchOptions, Measure } from './options.js';

export type Runs = Partial<Record<Measure, Outcome[]>>;

const PROFILE_DIR = fileURLToPath(new URL('./results/profiles/', import.meta.url));

export interface BenchContext {
  stack: LocalStack;
  dovecot: Dovecot;
  options: BenchOptions;
  corpus: CorpusOptions;
  /** Called with each run's outcome, for progress lines. */
  progress(line: string): void;
  /** The corpus as last seeded into Dovecot: its messages and bytes. */
  seeded?: Seeded;
}

/** MAX_MESSAGE_BYTES for the single large message: above it, so that the drain parses it rather than quarantining it. */
const SINGLE_LARGE_MAX_BYTES = SINGLE_LARGE_BYTES + 10 * 1024 * 1024;

export async function runProfile(profile: ProfileName, ctx: BenchContext): Promise<Runs> {
  const { stack, dovecot, options } = ctx;
  const runs: Runs = {};
  const wanted = (m: Measure) => options.measures.includes(m);
  const record = (m: Measure, outcome: Outcome) => {
    (runs[m] ??= []).push(outcome);
    ctx.progress(`${profile} ${m}: ${describeOutcome(outcome)}`);
  };
  const imapRoute = await route({ host: '127.0.0.1', port: dovecot.dovecotPort }, PROFILES[profile].imapRttMs);
  const child = (name: string, config: ChildConfig, env: NodeJS.ProcessEnv = process.env, execArgv: string[] = []) =>
    runChild(name, { env, config, execArgv, timeoutMs: options.childTimeoutMs, expectMessages: ctx.corpus.singleLarge ? 1 : ctx.corpus.messages });
  const profiling = options.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=drain-${profile}-${Date.now()}.cpuprofile`] : [];
  const imapFor = (user: string) => ({
    host: 'localhost',
    port: imapRoute.port,
    user,
    accessToken: stack.entra.issueToken({ aud: EXCHANGE_AUDIENCE, appid: stack.clientId, roles: [IMAP_ROLE] }),
  });
  /** A mailbox of its own for one run, seeded with the corpus; removed after. */
  const withMailbox = async (name: string, work: (user: string, seeded: Seeded) => Promise<void>) => {
    const user = `bench-${profile}-${name}@contoso.example`;
    await dovecot.grant(user);
    const seeded = await seedMaildir(dovecot, user, corpus({ ...ctx.corpus, to: user }));
    ctx.seeded = seeded;
    ctx.progress(`${profile}: seeded ${user} with ${seeded.messages} messages, ${(seeded.bytes / 1e6).toFixed(0)} MB (${(seeded.writeMs / 1000).toFixed(1)} s, indexed in ${(seeded.indexMs / 1000).toFixed(1)} s)`);
    try {
      await work(user, seeded);
    } finally {
      removeMaildir(dovecot, user);
      await dovecot.revoke(user);
    }
  };
  const withStorage = async (work: (storage: NonNullable<ChildConfig['storage']>) => Promise<void>) => {
    const storage = await startBenchStorage(profile);
    try {
      await work(storage);
    } finally {
      await storage.stop();
    }
  };

  try {
    for (let r = 1; r <= options.repeat; r++) {
      if (wanted('storage')) await withStorage(async (storage) => record('storage', await child('storageStage', { corpus: ctx.corpus, storage })));
      if (wanted('imap') || wanted('drain')) {
        await withMailbox(`drain-${r}`, async (user) => {
          if (wanted('imap')) record('imap', await child('imapStage', { corpus: ctx.corpus, imap: imapFor(user) }));
          if (!wanted('drain')) return;
          await withStorage(async (storage) => {
            const env = {
              ...process.env,
              ...stack.settings,
              ...stack.platformEnv,
              IMAP_HOST: 'localhost',
              IMAP_PORT: String(imapRoute.port),
              MAILBOX: user,
              OUTPUT_STORAGE: storage.connectionString,
              LOG_LEVEL: 'warn',
              ...(ctx.corpus.singleLarge && { MAX_MESSAGE_BYTES: String(SINGLE_LARGE_MAX_BYTES) }),
            };
            record('drain', await child('drainChild', { corpus: ctx.corpus }, env, [...profiling, ...options.drainNodeArgs]));
          });
        });
      }
      if (wanted('baseline')) {
        await withMailbox(`baseline-${r}`, (user) =>
          withStorage(async (storage) => record('baseline', await child('baselineChild', { corpus: ctx.corpus, imap: imapFor(user), storage }))),
        );
      }
    }
  } finally {
    await imapRoute.close();
  }
  return runs;
}

/** The parse stage needs neither network nor profile: it runs once, and both profiles show it. */
export async function runParse(ctx: BenchContext): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let r = 1; r <= ctx.options.repeat; r++) {
    const outcome = await runChild('parseStage', {
      env: process.env,
      config: { corpus: ctx.corpus },
      timeoutMs: ctx.options.childTimeoutMs,
      expectMessages: ctx.corpus.singleLarge ? 1 : ctx.corpus.messages,
    });
    ctx.progress(`parse: ${describeOutcome(outcome)}`);
    outcomes.push(outcome);
  }
  return outcomes;
}

function describeOutcome(outcome: Outcome): string {
  if (!outcome.ok) return `FAILED, ${outcome.reason}`;
  const { messages, ms, maxRssMiB, cpuMs } = outcome.result;
  return `${messages} messages in ${(ms / 1000).toFixed(1)} s (${((messages / ms) * 1000).toFixed(1)} msg/s), CPU ${(cpuMs / 1000).toFixed(1)} s, peak RSS ${maxRssMiB.toFixed(0)} MiB`;
}
