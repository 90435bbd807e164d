/**
 * The command line: `mail-drain drain [--settings FILE] [--json]` runs one drain
 * with the settings in the environment (or a local.settings.json file) and exits
 * 0 only when every message was handed off or quarantined. `mail-drain doctor`
 * checks every step of the chain without draining and says what to fix.
 *
 * Every line it prints goes through `printable`, and --json through
 * `printableJson`: subjects, folder names and server answers are others' text,
 * and must not reach the terminal as control characters or line breaks.
 */
import { parseArgs } from 'node:util';
import { describe, isDrainError } from '../errors/errors.js';
import { drain, isComplete, type DrainReport } from '../drain/drain.js';
import { runDoctor } from './doctor.js';
import { CredentialCache } from '../identity/credential.js';
import { consoleSink, createLogger, routeAzureSdkLogs } from '../errors/logger.js';
import { printable, printableJson } from './printable.js';
import { loadSettings } from '../config/loadSettings.js';
import { withSettingsFile } from '../config/withSettingsFile.js';

export const EXIT = { ok: 0, incomplete: 1, failed: 2, usage: 64 } as const;

const USAGE = `Usage: mail-drain drain [--settings local.settings.json] [--json]
       mail-drain doctor [--settings local.settings.json]

  drain        Drain the mailbox once: every message to the queue, then settle it.
  doctor       Check each step without draining: settings, the credential in Key Vault,
               the token and what it grants, IMAP login and folder, queue and container
               (a probe message and blob, deleted at once). Failures say what to do.
  --settings   A Functions settings file whose "Values" override the environment.
  --json       Print the drain report as JSON on stdout.

Settings are documented in the README. Exit codes: 0 all handed off or quarantined,
1 some messages left in the mailbox, 2 the drain could not run (the error says why).
doctor exits 0 when every check passes, 2 when one fails.`;

export async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const print = (...lines: string[]) => out(escapedLines(lines));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { settings: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    print((error as Error).message, '', ...USAGE.split('\n'));
    return EXIT.usage;
  }
  const [command] = parsed.positionals;
  if (parsed.values.help || (command !== 'drain' && command !== 'doctor')) {
    print(...USAGE.split('\n'));
    return parsed.values.help ? EXIT.ok : EXIT.usage;
  }
  // One command, one process: its credentials live as long as the command.
  const credentials = new CredentialCache();
  if (command === 'doctor') {
    // The doctor calls `out` once per line: each call is escaped whole.
    const { ok } = await runDoctor(process.env, (line) => print(line), { settingsFile: parsed.values.settings, credentials });
    return ok ? EXIT.ok : EXIT.failed;
  }

  try {
    const env = parsed.values.settings ? withSettingsFile(parsed.values.settings) : process.env;
    const settings = loadSettings(env);
    const logger = createLogger(consoleSink, settings.logLevel);
    routeAzureSdkLogs(logger, settings.logLevel);
    const report = await drain(settings, logger, { credentials });
    out(parsed.values.json ? printableJson(report) : formatReport(report));
    return isComplete(report) ? EXIT.ok : EXIT.incomplete;
  } catch (error) {
    // An explanation keeps its own line breaks (the list of bad settings, "What to do"); each line is escaped.
    if (isDrainError(error)) print('Drain failed.', ...error.explain().split('\n'));
    else print(`Drain failed unexpectedly: ${describe(error)}`);
    return EXIT.failed;
  }
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
