/**
 * The command line: `mail-drain drain [--mailbox ADDRESS] [--settings FILE] [--json]`
 * drains every enabled mailbox (or one) with the settings in the environment (or
 * a local.settings.json file) and exits 0 only when every mailbox completed.
 * `mail-drain status` prints each mailbox's last run; `mail-drain doctor` checks
 * every step of the chain without draining and says what to fix; `mail-drain
 * replay` sends queue messages again from their blobs, and `mail-drain redrive`
 * hands off quarantined mail once its cause is fixed.
 *
 * Every line it prints goes through `printable`, and --json through
 * `printableJson`: subjects, folder names and server answers are others' text,
 * and must not reach the terminal as control characters or line breaks.
 */
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { describe, isDrainError } from '../errors/errors.js';
import { drain, isComplete, type DrainReport } from '../drain/drain.js';
import { runDoctor } from './doctor.js';
import { CredentialCache } from '../identity/credential.js';
import { consoleSink, createLogger, routeAzureSdkLogs, type Logger } from '../errors/logger.js';
import type { Settings } from '../config/settings.js';
import { Outbox } from '../outbox/outbox.js';
import type { MailboxStatus } from '../outbox/mailboxStatus.js';
import { storageCredential } from '../identity/storageCredential.js';
import { printable, printableJson } from './printable.js';
import { loadSettings } from '../config/loadSettings.js';
import { withSettingsFile } from '../config/withSettingsFile.js';
import { replay, type ReplayResult } from './replay.js';
import { quarantineSummaries, redrive, type QuarantineSummary, type RedriveResult } from './redrive.js';
import { folderKey } from '../config/mailboxList.js';
import { ID_PATTERN, mailboxesOf } from './storedMail.js';

export const EXIT = { ok: 0, incomplete: 1, failed: 2, usage: 64 } as const;

const USAGE = `Usage: mail-drain drain [--mailbox ADDRESS] [--settings local.settings.json] [--json]
       mail-drain status [--mailbox ADDRESS] [--settings local.settings.json] [--json]
       mail-drain doctor [--settings local.settings.json]
       mail-drain replay --id ID [--id ID ...] [--dry-run] [--settings FILE] [--json]
       mail-drain replay [--since ISO-TIME] [--mailbox ADDRESS] [--dry-run] [--settings FILE] [--json]
       mail-drain redrive [--id ID] [--mailbox ADDRESS] [--dry-run] [--settings FILE] [--json]

  drain        Drain every enabled mailbox once (MAILBOXES, or MAILBOX), a few at a time:
               every message to the queue, then settle it.
  status       Print, per mailbox, what its last drain did: when, its outcome, messages
               handed off, quarantined and left, the oldest one waiting, the last error.
  doctor       Check each step without draining: settings, the credential in Key Vault,
               the token and what it grants, IMAP login and folder of every mailbox, queue
               and container (a probe message and blob, deleted at once). Failures say what to do.
  replay       Send a handed-off message's queue message again, same id, rebuilt from its
               blobs (kept for the claim-check retention): the ids given, or every stored
               message of the mailboxes received (INTERNALDATE) since --since, or ever.
               The mailbox is not touched.
  redrive      Quarantined mail, once its cause is fixed: move it from FAILED_FOLDER back to
               the drained folder (the next drain hands it off under a new id), or, if it is
               no longer there, hand it off from its quarantined copy. The copy is deleted
               only once the mail is handed off; run redrive again after the next drain.
  --mailbox    Only this mailbox (every folder of it that MAILBOXES lists).
  --id         A message id (the queue message's id; for redrive, the poison message's).
  --since      An ISO 8601 time: replay the messages received since then.
  --dry-run    Say what replay or redrive would do; send, move and delete nothing.
  --settings   A Functions settings file whose "Values" override the environment.
  --json       Print the reports (statuses, replays, redrives) as JSON on stdout.

Settings are documented in the README. Exit codes: 0 every mailbox completed (all handed
off or quarantined), 1 some messages left in a mailbox, 2 a drain could not run (the
error says why). doctor exits 0 when every check passes, 2 when one fails. replay and
redrive exit 0 when every message was done, 1 when some were not (each says why), 2
when they could not run.`;

/**
 * Mailboxes drained at once by \`mail-drain drain\`: each holds one IMAP session
 * and up to BYTES_IN_FLIGHT of mail, so a few, as one Functions instance runs.
 */
export const CLI_MAILBOX_CONCURRENCY = 4;

export async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const print = (...lines: string[]) => out(escapedLines(lines));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        settings: { type: 'string' },
        mailbox: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        id: { type: 'string', multiple: true },
        since: { type: 'string' },
        'dry-run': { type: 'boolean' },
      },
    });
  } catch (error) {
    print((error as Error).message, '', ...USAGE.split('\n'));
    return EXIT.usage;
  }
  const [command] = parsed.positionals;
  if (parsed.values.help || !isCommand(command)) {
    print(...USAGE.split('\n'));
    return parsed.values.help ? EXIT.ok : EXIT.usage;
  }
  const misuse = misused(command, parsed.values);
  if (misuse) {
    print(misuse, '', ...USAGE.split('\n'));
    return EXIT.usage;
  }
  // One command, one process: its credentials live as long as the command.
  const credentials = new CredentialCache();
  if (command === 'doctor') {
    // The doctor calls `out` once per line: each call is escaped whole.
    const { ok } = await runDoctor(process.env, (line) => print(line), { settingsFile: parsed.values.settings, credentials });
    return ok ? EXIT.ok : EXIT.failed;
  }

  let targets: Settings[];
  let logger: Logger;
  let settings: Settings;
  try {
    const env = parsed.values.settings ? withSettingsFile(parsed.values.settings) : process.env;
    settings = loadSettings(env);
    logger = createLogger(consoleSink, settings.logLevel);
    routeAzureSdkLogs(logger, settings.logLevel);
    targets = command === 'replay' || command === 'redrive' ? [] : mailboxesOf(settings, parsed.values.mailbox, { enabledOnly: true });
  } catch (error) {
    print(...failure(TITLES[command], error));
    return EXIT.failed;
  }
  if (command === 'status') return status(targets, parsed.values.json ?? false, out, print);
  if (command === 'replay' || command === 'redrive') {
    const { id: ids, mailbox, since, json } = parsed.values;
    const dryRun = parsed.values['dry-run'] ?? false;
    try {
      if (command === 'replay') {
        const results = await replay(settings, { ids, mailbox, since: since === undefined ? undefined : new Date(since), dryRun });
        out(json ? printableJson(results.map(replayJson)) : formatReplay(results, dryRun));
        return results.some((r) => r.outcome === 'failed') ? EXIT.incomplete : EXIT.ok;
      }
      const results = await redrive(settings, logger, { id: ids?.[0], mailbox, dryRun, credentials });
      out(json ? printableJson(results.map(redriveJson)) : formatRedrive(results));
      return results.some((r) => r.outcome === 'failed') ? EXIT.incomplete : EXIT.ok;
    } catch (error) {
      print(...failure(TITLES[command], error));
      return EXIT.failed;
    }
  }

  const limit = pLimit(CLI_MAILBOX_CONCURRENCY);
  type Run = { one: Settings; report: DrainReport } | { one: Settings; error: unknown };
  const runs = await Promise.all(
    targets.map((one) =>
      limit(async (): Promise<Run> => {
        try {
          return { one, report: await drain(one, logger, { credentials }) };
        } catch (error) {
          return { one, error };
        }
      }),
    ),
  );
  if (parsed.values.json) {
    const reports = runs.map((r) => ('report' in r ? r.report : { mailbox: r.one.mailbox, folder: r.one.folder, error: describe(r.error) }));
    // One mailbox: its report, as before there were several.
    out(printableJson(reports.length === 1 ? reports[0] : reports));
  } else {
    // A failed drain of one of several mailboxes is headed by its mailbox; of the only one, it says just why.
    const failedRun = (r: { one: Settings; error: unknown }) =>
      escapedLines(runs.length === 1 ? failure('Drain', r.error) : [`Mailbox ${r.one.mailbox}, folder ${r.one.folder}:`, ...failure('Drain', r.error)]);
    out(runs.map((r) => ('report' in r ? formatReport(r.report) : failedRun(r))).join('\n\n'));
  }
  if (runs.some((r) => 'error' in r)) return EXIT.failed;
  return runs.every((r) => 'report' in r && isComplete(r.report)) ? EXIT.ok : EXIT.incomplete;
}

const COMMANDS = ['drain', 'status', 'doctor', 'replay', 'redrive'] as const;
type Command = (typeof COMMANDS)[number];
const TITLES: Record<Command, string> = { drain: 'Drain', status: 'Status', doctor: 'Doctor', replay: 'Replay', redrive: 'Redrive' };

function isCommand(command: string | undefined): command is Command {
  return (COMMANDS as readonly (string | undefined)[]).includes(command);
}

/** What is wrong with the options for this command, if anything. */
function misused(command: Command, values: { id?: string[]; since?: string; 'dry-run'?: boolean }): string | undefined {
  const { id: ids, since } = values;
  if (command !== 'replay' && command !== 'redrive') {
    if (ids || since || values['dry-run']) return `--id, --since and --dry-run are options of replay and redrive, not of ${command}.`;
    return undefined;
  }
  const bad = ids?.find((id) => !ID_PATTERN.test(id));
  if (bad !== undefined) return `--id ${bad} is not a message id (64 hexadecimal digits, as the queue message's "id").`;
  if (command === 'redrive') {
    if (since) return '--since is an option of replay; redrive takes every quarantined message of the mailboxes, or one --id.';
    if (ids && ids.length > 1) return 'redrive takes one --id at a time.';
    return undefined;
  }
  if (ids && since) return '--id and --since select differently: give one of them.';
  if (since !== undefined && Number.isNaN(Date.parse(since))) return `--since ${since} is not an ISO 8601 time (e.g. 2026-11-20T08:00:00Z).`;
  return undefined;
}

/** `mail-drain status`: each mailbox's last run, read from beside its lease. */
async function status(targets: Settings[], json: boolean, out: (line: string) => void, print: (...lines: string[]) => void): Promise<number> {
  // Quarantined copies, one listing per container; a listing that fails only leaves them out.
  const copies = new Map<string, Promise<Map<string, QuarantineSummary> | undefined>>();
  const quarantineOf = async (one: Settings, outbox: Outbox) => {
    if (!copies.has(one.output.containerName)) copies.set(one.output.containerName, quarantineSummaries(outbox).catch(() => undefined));
    const summaries = await copies.get(one.output.containerName);
    return summaries && (summaries.get(folderKey(one.mailbox, one.folder)) ?? { kept: 0, redriven: 0 });
  };
  const statuses = await Promise.all(
    targets.map(async (one) => {
      try {
        const outbox = Outbox.open(one.output.storage, one.output, () => storageCredential(one));
        const [status, quarantine] = await Promise.all([outbox.readStatus(one.mailbox, one.folder), quarantineOf(one, outbox)]);
        return { one, status, quarantine };
      } catch (error) {
        return { one, error };
      }
    }),
  );
  if (json) {
    const entry = (s: (typeof statuses)[number]) =>
      'error' in s
        ? { mailbox: s.one.mailbox, folder: s.one.folder, error: describe(s.error) }
        : { ...(s.status ?? { mailbox: s.one.mailbox, folder: s.one.folder, lastRun: null }), ...(s.quarantine && { quarantine: s.quarantine }) };
    out(printableJson(statuses.map(entry)));
  } else {
    for (const s of statuses) {
      if ('error' in s) print(`Mailbox ${s.one.mailbox}, folder ${s.one.folder}:`, ...failure('  Status', s.error));
      else out(formatStatus(s.one, s.status, new Date(), s.quarantine));
    }
  }
  return statuses.some((s) => 'error' in s) ? EXIT.failed : EXIT.ok;
}

/** One mailbox's status as the operator reads it. */
export function formatStatus(where: Pick<Settings, 'mailbox' | 'folder'>, status: MailboxStatus | undefined, now = new Date(), quarantine?: QuarantineSummary): string {
  const head = `Mailbox ${where.mailbox}, folder ${where.folder}:`;
  // Quarantined copies kept in Storage: what mail-drain redrive works on.
  const kept = quarantine?.kept
    ? [`  quarantine:    ${quarantine.kept} copy(ies) kept${quarantine.redriven ? `, ${quarantine.redriven} redriven (waiting for a drain, then a redrive deletes them)` : ''}; see mail-drain redrive --dry-run`]
    : [];
  if (!status) return escapedLines([head, '  no drain has run yet (or its status could not be read).', ...kept]);
  const { lastRun: run } = status;
  const lines = [
    head,
    `  last run:      ${run.startedAt} to ${run.endedAt}, ${run.outcome}`,
    `  handed off:    ${run.handedOff}`,
    `  quarantined:   ${run.quarantined}`,
    `  left:          ${run.left ?? 'unknown (the drain did not reach the folder)'}`,
  ];
  if (run.oldestWaitingSince) lines.push(`  oldest waiting: since ${run.oldestWaitingSince} (${age(new Date(run.oldestWaitingSince), now)})`);
  lines.push(...kept);
  lines.push(`  last completed: ${status.lastCompletedAt ?? 'never'}`);
  if (run.error) {
    lines.push(...entry('  last error:    ', `${run.error.code ? `[${run.error.code}] ` : ''}${run.error.message}`));
    if (run.error.remedy) lines.push(`      What to do: ${run.error.remedy}`);
  }
  return escapedLines(lines);
}

function age(since: Date, now: Date): string {
  const minutes = Math.max(0, Math.round((now.getTime() - since.getTime()) / 60_000));
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} days`;
}

/** Replay's results, one line per message (an explanation's further lines beneath it). */
export function formatReplay(results: ReplayResult[], dryRun: boolean): string {
  if (results.length === 0) return escapedLines(['No stored message matches: nothing sent.']);
  const lines = results.flatMap((r) => {
    if (r.outcome === 'failed') return entry(`  ${r.id}  not sent: `, describe(r.error));
    const { mailbox, folder, uid, receivedAt } = r.identity;
    return [`  ${r.id}  ${r.outcome === 'sent' ? 'sent' : 'would send'}  ${mailbox} ${folder} UID ${uid}, received ${receivedAt}${r.viaBlob ? '  [payload in blob]' : ''} -> ${r.queueUrl}`];
  });
  const done = results.filter((r) => r.outcome !== 'failed').length;
  return escapedLines([`${dryRun ? 'Would replay' : 'Replayed'} ${done} of ${results.length} message(s):`, ...lines]);
}

/** Redrive's results, one line per quarantined copy. */
export function formatRedrive(results: RedriveResult[]): string {
  if (results.length === 0) return escapedLines(['Nothing is quarantined: nothing to redrive.']);
  const lines = results.flatMap((r) => {
    const where = r.identity ? `${r.identity.mailbox} ${r.identity.folder} UID ${r.identity.uid}: ` : '';
    return r.outcome === 'failed' ? entry(`  ${r.id}  failed: ${where}`, describe(r.error)) : [`  ${r.id}  ${r.outcome}: ${where}${r.detail}`];
  });
  return escapedLines([`Redrive, ${results.length} quarantined message(s):`, ...lines]);
}

function replayJson(r: ReplayResult) {
  return r.outcome === 'failed' ? { id: r.id, outcome: r.outcome, error: describe(r.error) } : r;
}

function redriveJson(r: RedriveResult) {
  const { error, ...rest } = r;
  return error === undefined ? rest : { ...rest, detail: describe(error) };
}

/** What a failed command prints: the explanation keeps its own line breaks (the list of bad settings, "What to do"). */
function failure(what: string, error: unknown): string[] {
  if (isDrainError(error)) return [`${what} failed.`, ...error.explain().split('\n')];
  return [`${what} failed unexpectedly: ${describe(error)}`];
}

/** The drain report as the operator reads it, one fact per line, every line escaped. */
export function formatReport(report: DrainReport): string {
  if (report.skipped) return escapedLines([`Mailbox ${report.mailbox}, folder ${report.folder}: another drain holds it; nothing done.`]);
  const lines = [
    `Mailbox ${report.mailbox}, folder ${report.folder}: ${report.found} message(s) found.`,
    `  handed off:   ${report.handedOff.length} -> ${report.queueUrl}`,
    ...report.handedOff.map((m) => `    UID ${m.uid}  ${m.subject ?? '(no subject)'}${m.viaBlob ? '  [payload in blob]' : ''}`),
    `  quarantined:  ${report.quarantined.length}`,
    ...report.quarantined.map((m) => `    UID ${m.uid}  ${m.reason}: ${m.detail}  raw: ${m.rawBlobUrl ?? 'none (the server would not return its bytes)'}`),
    `  failed:       ${report.failed.length} (left in the mailbox for the next run)`,
    ...report.failed.flatMap((m) => entry(`    UID ${m.uid}  `, m.error)),
  ];
  if (report.notAttempted > 0) lines.push(`  not attempted: ${report.notAttempted} (left for the next run)`);
  if (report.stoppedBecause) lines.push(...entry('  stopped early: ', report.stoppedBecause));
  return escapedLines(lines);
}

/**
 * Lines joined for printing, each escaped whole: a value inside a line cannot
 * end it, start another or move the cursor.
 */
function escapedLines(lines: string[]): string {
  return lines.map(printable).join('\n');
}

/**
 * A report entry for an error's explanation: its first line after `lead`, its
 * further lines ("What to do") indented beneath, so none can pass for a line
 * of the report's own.
 */
function entry(lead: string, explanation: string): string[] {
  const [first = '', ...rest] = explanation.split('\n');
  return [`${lead}${first}`, ...rest.map((line) => `      ${line.trim()}`)];
}
