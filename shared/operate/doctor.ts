/**
 * `mail-drain doctor`: walks the drain's chain once, in the drain's order, and
 * prints a checklist a person can follow: settings, the credential in Key
 * Vault, the token and what it grants, the mailbox over IMAP, the queue and the
 * container. A failed step carries the product's own code and remedy; a step
 * that needs it is skipped, saying why.
 *
 * It runs the product's code (appCredential, Mailbox) rather than a copy, so it
 * fails where the drain would, with the same words. It drains nothing and
 * leaves nothing a consumer would read: the queue probe is deleted at once and
 * invisible until it expires; the blob probe, under doctor/, is deleted.
 * Opening the mailbox creates PROCESSED_FOLDER and FAILED_FOLDER when missing,
 * as the drain's first run does.
 *
 * Nothing secret is printed: the token is decoded, never shown, and every line
 * goes through the logger's redaction as well.
 */
import { randomUUID } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { appCredential, EXCHANGE_AUDIENCE, EXCHANGE_SCOPE, IMAP_ROLE, platformCredential, renewalSteps, type AppCredential } from '../identity/credential.js';
import { describe, isDrainError, DrainError, type DrainErrorCode } from '../errors/errors.js';
import { explainStorageError } from '../errors/explain.js';
import { consoleSink, createLogger, redact, type LogSink, type Logger } from '../errors/logger.js';
import { CLAIM_CHECK_PREFIX } from '../drain/handOff.js';
import { Mailbox } from '../mailbox/mailbox.js';
import { publicUrl, storageClients } from '../outbox/outbox.js';
import { encodeForQueue } from '../contract/queueMessage.js';
import { credentialName, type Settings } from '../config/settings.js';
import { loadSettings } from '../config/loadSettings.js';
import { scheduleTimeZoneNote } from '../config/scheduleTimeZoneNote.js';
import { withSettingsFile } from '../config/withSettingsFile.js';

type Env = Record<string, string | undefined>;

export type StepName = 'settings' | 'keyVault' | 'token' | 'imap' | 'queue' | 'container';

export interface DoctorStep {
  name: StepName;
  /** `skip` also marks a step that does not apply (Key Vault with CREDENTIAL_TYPE=federated). */
  status: 'ok' | 'fail' | 'skip';
  detail: string;
  code?: DrainErrorCode;
  /** What to do: for a failed step, or for a passing one that needs attention soon. */
  remedy?: string;
}

export interface DoctorResult {
  /** True when no step failed. */
  ok: boolean;
  steps: DoctorStep[];
}

export interface DoctorOptions {
  /** A local.settings.json-style file laid over `env`, as `--settings` does for the drain. */
  settingsFile?: string;
  /** Where the product's own log lines go (stderr by default, at LOG_LEVEL). */
  logSink?: LogSink;
}

export { EXCHANGE_AUDIENCE, IMAP_ROLE };
/**
 * The queue probe lives this long. Storage requires its visibility timeout to be
 * shorter than its time to live, so even a probe that could not be deleted (the
 * function's identity may only send) is visible for one second before it expires.
 */
export const PROBE_TTL_SECONDS = 60;

const LABELS: Record<StepName, string> = {
  settings: 'Settings',
  keyVault: 'Key Vault',
  token: 'Token',
  imap: 'IMAP',
  queue: 'Queue',
  container: 'Blob container',
};

/** Runs every check, prints the checklist through `out`, and returns it. Never throws. */
export async function runDoctor(env: Env, out: (line: string) => void, options: DoctorOptions = {}): Promise<DoctorResult> {
  const list = new Checklist(out);

  const settings = await list.check('settings', () => checkSettings(env, options.settingsFile));
  if (!settings) {
    for (const name of ['keyVault', 'token', 'imap', 'queue', 'container'] as const) list.skip(name, 'needs valid settings');
    return list.finish();
  }
  const logger = createLogger(options.logSink ?? consoleSink, settings.logLevel);

  const app = await list.check('keyVault', () => checkCredential(settings, logger));
  const claims = app
    ? await list.check('token', () => checkToken(app, settings, logger))
    : list.skip('token', 'needs the app credential, which could not be read from Key Vault');
  if (app && claims) await list.check('imap', () => checkMailbox(app, settings, logger), claims.oid);
  else list.skip('imap', app ? 'needs a token that Exchange Online accepts' : 'needs the app credential and a token');

  // Storage needs only the settings: it is checked whatever happened to the mailbox side.
  await list.check('queue', async () => checkQueue(storageFor(settings).queue));
  await list.check('container', async () => checkContainer(storageFor(settings).container));
  return list.finish();
}

/**
 * The queue and container clients, built the way Outbox.open builds them: from
 * the connection string, or with the platform identity (OUTPUT_STORAGE__clientId).
 */
export function openStorage(settings: Settings): { queue: QueueClient; container: ContainerClient } {
  const { storage, queueName, containerName } = settings.output;
  const { queues, blobs } = storageClients(storage, () => platformCredential(settings, storage.kind === 'identity' ? storage.clientId : undefined));
  return { queue: queues.getQueueClient(queueName), container: blobs.getContainerClient(containerName) };
}

/** openStorage, failing a connection string the SDK cannot parse as a setting to fix. */
function storageFor(settings: Settings): ReturnType<typeof openStorage> {
  try {
    return openStorage(settings);
  } catch (error) {
    throw new DrainError(
      'SETTINGS_INVALID',
      `OUTPUT_STORAGE is not a storage connection string the Storage SDK accepts: ${describe(error)}`,
      'Copy the connection string from the storage account (Access keys), or leave OUTPUT_STORAGE empty and set ' +
        'OUTPUT_STORAGE__queueServiceUri and OUTPUT_STORAGE__blobServiceUri for identity-based access.',
      { cause: error },
    );
  }
}

/** What a passing check found, and the value later checks need. */
interface Passed<T> {
  value: T;
  detail: string;
  remedy?: string;
  /** The check does not apply to these settings: shown as skipped, not failed. */
  notApplicable?: boolean;
}

async function checkSettings(env: Env, settingsFile: string | undefined): Promise<Passed<Settings>> {
  const settings = loadSettings(settingsFile ? withSettingsFile(settingsFile, env) : env);
  const credential =
    settings.credential.type === 'federated'
      ? `federated (managed identity ${settings.credential.managedIdentityClientId})`
      : `${settings.credential.type} "${credentialName(settings)}"`;
  // The hours of a schedule are UTC hours in Azure; whoever wrote them may well have meant local time.
  const timeZone = scheduleTimeZoneNote(settings.schedule);
  return {
    value: settings,
    detail:
      `valid: tenant ${settings.tenantId}, app ${settings.clientId}, credential ${credential}, ` +
      `mailbox ${settings.mailbox} folder "${settings.folder}" on ${settings.imap.host}:${settings.imap.port}, ` +
      `queue ${settings.output.queueName}, container ${settings.output.containerName}` +
      (timeZone ? `\n${timeZone}` : ''),
  };
}

async function checkCredential(settings: Settings, logger: Logger): Promise<Passed<AppCredential>> {
  const app = await appCredential(settings, logger);
  if (settings.credential.type === 'federated') {
    return {
      value: app,
      notApplicable: true,
      detail:
        `CREDENTIAL_TYPE=federated reads nothing from Key Vault: the managed identity ` +
        `${settings.credential.managedIdentityClientId} is the app's credential`,
    };
  }
  const read = `read ${settings.credential.type} "${credentialName(settings)}" from ${settings.keyVaultUrl}`;
  const expiresOn = app.expiresOn;
  if (!expiresOn) {
    return {
      value: app,
      detail: `${read}; it has no expiry date in Key Vault, so no run can warn before it stops working`,
      remedy: `Store its expiry with it: az keyvault secret set-attributes --vault-name ${vaultName(settings)} --name ${credentialName(settings)} --expires <its expiry, e.g. 2027-06-30T00:00:00Z>`,
    };
  }
  const days = Math.floor((expiresOn.getTime() - Date.now()) / 86_400_000);
  const expiry = `${read}, expires ${expiresOn.toISOString().slice(0, 10)} (in ${days} day${days === 1 ? '' : 's'})`;
  // appCredential has already failed an expired credential (CREDENTIAL_EXPIRED).
  return days <= settings.credentialExpiryWarningDays
    ? { value: app, detail: `${expiry}: renew it soon`, remedy: renewalSteps(settings) }
    : { value: app, detail: expiry };
}

/** The claims of the app-only token that matter to Exchange Online. */
export interface TokenClaims {
  aud?: string;
  roles: string[];
  tid?: string;
  appid?: string;
  /** Object ID of the app's service principal: the Enterprise application's object ID. */
  oid?: string;
  exp?: number;
}

/**
 * The payload of a JWT access token, decoded without verification (Exchange
 * verifies it; this only reads what it says). Throws without quoting the token.
 */
export function tokenClaims(token: string): TokenClaims {
  const payload = token.split('.')[1];
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new DrainError('ENTRA_TOKEN_FAILED', 'The access token from Entra ID is not a JWT, so what it grants cannot be shown.', 'Check AZURE_AUTHORITY_HOST: it must be Entra ID\'s host for your cloud.');
  }
  const text = (name: string) => (typeof claims[name] === 'string' ? (claims[name] as string) : undefined);
  return {
    aud: text('aud'),
    roles: Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [],
    tid: text('tid'),
    appid: text('appid') ?? text('azp'),
    oid: text('oid'),
    exp: typeof claims.exp === 'number' ? claims.exp : undefined,
  };
}

async function checkToken(app: AppCredential, settings: Settings, logger: Logger): Promise<Passed<TokenClaims>> {
  const token = await app.mailboxToken(logger);
  const claims = tokenClaims(token.token);
  const expires = claims.exp ? new Date(claims.exp * 1000) : new Date(token.expiresOnTimestamp);
  const minutes = Math.round((expires.getTime() - Date.now()) / 60_000);
  const hasRole = claims.roles.includes(IMAP_ROLE);
  const said =
    `audience ${claims.aud ?? '(none)'}, role ${IMAP_ROLE} ${hasRole ? 'present' : 'MISSING'}` +
    `${claims.roles.length > 0 ? ` (roles: ${claims.roles.join(', ')})` : ' (no roles)'}, ` +
    `tenant ${claims.tid ?? '(none)'}, app id ${claims.appid ?? '(none)'}, ` +
    `service principal ${claims.oid ?? '(none)'}, expires ${expires.toISOString()} (in ${minutes} min)`;

  if (claims.aud?.replace(/\/+$/, '') !== EXCHANGE_AUDIENCE) {
    throw new DrainError(
      'ENTRA_TOKEN_FAILED',
      `The token is not for Exchange Online: ${said}; its audience must be ${EXCHANGE_AUDIENCE}.`,
      `The token was requested for ${EXCHANGE_SCOPE}; check AZURE_AUTHORITY_HOST (unset for the public cloud) and that no proxy answers for Entra ID.`,
    );
  }
  if (!hasRole) {
    throw new DrainError(
      'ENTRA_CONSENT_MISSING',
      `The token does not grant ${IMAP_ROLE}, so Exchange will refuse it: ${said}.`,
      'Entra admin center > App registrations > your app > API permissions: add Office 365 Exchange Online > ' +
        `Application permissions > ${IMAP_ROLE}, then "Grant admin consent" for app ${settings.clientId} (from a shell: the Graph call to appRoleAssignedTo in docs/deploy.md step 2, not the Azure CLI's admin-consent, which fails in Cloud Shell). ` +
        'A new token carries the role once consent is granted.',
    );
  }
  if (claims.tid !== settings.tenantId || claims.appid !== settings.clientId) {
    throw new DrainError(
      'ENTRA_TOKEN_FAILED',
      `The token is not the configured app's in the configured tenant (TENANT_ID ${settings.tenantId}, CLIENT_ID ${settings.clientId}): ${said}.`,
      'Check TENANT_ID, CLIENT_ID and AZURE_AUTHORITY_HOST.',
    );
  }
  return { value: claims, detail: said };
}

async function checkMailbox(app: AppCredential, settings: Settings, logger: Logger): Promise<Passed<number>> {
  const mailbox = await Mailbox.open(settings, (options) => app.mailboxToken(logger, options), logger);
  try {
    const { pending, seenSkipped } = await mailbox.inventory();
    const bytes = pending.reduce((n, m) => n + m.size, 0);
    const which = settings.afterProcessing === 'flag' ? 'unseen message(s)' : 'message(s)';
    // Flag mode drains only unseen mail: what a person opened first is never drained. Say how much that is.
    const skipped =
      settings.afterProcessing === 'flag'
        ? `; ${seenSkipped} message(s) already \\Seen (opened by a person, or handed off before) are skipped by AFTER_PROCESSING=flag and never drained`
        : '';
    return {
      value: pending.length,
      detail:
        `${settings.imap.host}:${settings.imap.port}: TLS certificate verified, XOAUTH2 accepted for ${settings.mailbox}, ` +
        `folder "${mailbox.folder}" selected (UIDVALIDITY ${mailbox.uidValidity}), ${pending.length} ${which} to drain (${kib(bytes)})${skipped}`,
    };
  } finally {
    await mailbox.close();
  }
}

async function checkQueue(queue: QueueClient): Promise<Passed<true>> {
  const where = `queue ${queue.name}`;
  const probe = encodeForQueue({ doctor: 'mail-drain doctor probe, not a mail message' });
  const sent = await queue
    .sendMessage(probe, { messageTimeToLive: PROBE_TTL_SECONDS, visibilityTimeout: PROBE_TTL_SECONDS - 1 })
    .catch((error: unknown) => {
      throw explainStorageError(error, where);
    });
  const url = publicUrl(queue.url);
  try {
    await queue.deleteMessage(sent.messageId, sent.popReceipt);
  } catch (error) {
    // The function's identity has "Storage Queue Data Message Sender": it may send, not delete.
    return {
      value: true,
      detail:
        `${url}: sent a probe message (writable); deleting it failed (${statusOf(error)}), ` +
        `so it stays invisible and expires within ${PROBE_TTL_SECONDS} s`,
    };
  }
  return { value: true, detail: `${url}: sent a probe message (writable) and deleted it` };
}

async function checkContainer(container: ContainerClient): Promise<Passed<true>> {
  // Under the claim-check prefix, which the container's lifecycle rule expires, should the delete fail.
  const name = `${CLAIM_CHECK_PREFIX}doctor-probe-${randomUUID()}.txt`;
  const blob = container.getBlockBlobClient(name);
  await blob
    .uploadData(Buffer.from('mail-drain doctor probe\n'), { blobHTTPHeaders: { blobContentType: 'text/plain' } })
    .catch((error: unknown) => {
      throw explainStorageError(error, `blob ${name} in container ${container.containerName}`);
    });
  const url = publicUrl(container.url);
  try {
    await blob.delete();
  } catch (error) {
    return {
      value: true,
      detail: `${url}: uploaded ${name} (writable); deleting it failed (${statusOf(error)}), the lifecycle rule removes it`,
    };
  }
  return { value: true, detail: `${url}: uploaded ${name} (writable) and deleted it` };
}

/** The steps so far, printed as they complete. */
class Checklist {
  readonly steps: DoctorStep[] = [];

  constructor(private readonly out: (line: string) => void) {}

  /**
   * Runs one check. A DrainError fails it with its code and remedy; in the
   * remedy, `<enterprise-app-object-id>` becomes `servicePrincipalId` when the
   * token told it (its `oid` is the Enterprise application's object ID).
   */
  async check<T>(name: StepName, run: () => Promise<Passed<T>>, servicePrincipalId?: string): Promise<T | undefined> {
    try {
      const passed = await run();
      this.add({ name, status: passed.notApplicable ? 'skip' : 'ok', detail: passed.detail, remedy: passed.remedy });
      return passed.value;
    } catch (error) {
      if (isDrainError(error)) {
        const remedy = servicePrincipalId ? error.remedy.replaceAll('<enterprise-app-object-id>', servicePrincipalId) : error.remedy;
        this.add({ name, status: 'fail', detail: error.message, code: error.code, remedy });
      } else {
        this.add({ name, status: 'fail', detail: `failed unexpectedly: ${describe(error)}`, remedy: 'Run again with LOG_LEVEL=debug and report the output.' });
      }
      return undefined;
    }
  }

  skip(name: StepName, reason: string): undefined {
    this.add({ name, status: 'skip', detail: `skipped: ${reason}` });
    return undefined;
  }

  finish(): DoctorResult {
    const failed = this.steps.filter((s) => s.status === 'fail');
    const ok = failed.length === 0;
    const passed = this.steps.filter((s) => s.status === 'ok').length;
    this.out(
      ok
        ? `All ${passed} checks passed${passed < this.steps.length ? ` (${this.steps.length - passed} not applicable)` : ''}: the drain can run.`
        : `${failed.length} check${failed.length === 1 ? '' : 's'} failed (${failed.map((s) => LABELS[s.name]).join(', ')}); ` +
            'fix the first one above and run mail-drain doctor again.',
    );
    return { ok, steps: this.steps };
  }

  /** Redacted as log lines are: the returned steps are as safe to print as the checklist. */
  private add(step: DoctorStep): void {
    const safe = { ...step, detail: redact(step.detail), ...(step.remedy ? { remedy: redact(step.remedy) } : {}) };
    this.steps.push(safe);
    for (const line of formatStep(safe)) this.out(line);
  }
}

const MARK = { ok: '[ok]  ', fail: '[FAIL]', skip: '[skip]' } as const;
const INDENT = '       ';

/** One step as the checklist prints it: the result line, then what to do. */
export function formatStep(step: DoctorStep): string[] {
  const [first = '', ...rest] = step.detail.split(/\r?\n/);
  const lines = [`${MARK[step.status]} ${LABELS[step.name]}: ${step.code ? `[${step.code}] ` : ''}${first}`];
  lines.push(...rest.map((line) => `${INDENT}${line.trim()}`));
  if (step.remedy) {
    lines.push(`${INDENT}What to do:`);
    lines.push(...remedyLines(step.remedy).map((line) => `${INDENT}  ${line}`));
  }
  return lines;
}

// Commands in a remedy get lines of their own, so they can be copied.
const COMMAND = /^(Connect-ExchangeOnline|New-ServicePrincipal|Add-MailboxPermission|az [a-z])/;

/**
 * A remedy split for reading: one line per clause (at "; " and at sentence ends
 * outside parentheses, but not before "or"/"and"), and each command on its own,
 * further indented line, ready to copy.
 */
export function remedyLines(remedy: string): string[] {
  const clauses: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < remedy.length; i++) {
    const c = remedy[i];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && remedy[i + 1] === ' ' && ((c === ';' && !/^ (or|and) /.test(remedy.slice(i + 1, i + 6))) || (c === '.' && isSentenceEnd(remedy, i)))) {
      clauses.push(remedy.slice(start, c === '.' ? i + 1 : i));
      start = i + 2;
    }
  }
  clauses.push(remedy.slice(start));

  const lines: string[] = [];
  for (const clause of clauses.map((c) => c.trim()).filter(Boolean)) {
    // "...: New-ServicePrincipal ...", "... then az keyvault ..." and "... then run az ..." put the command on the next line.
    const parts = clause.split(/(?<=:|\bthen|\bthen run) (?=Connect-ExchangeOnline|New-ServicePrincipal|Add-MailboxPermission|az [a-z])/);
    for (const part of parts) lines.push(COMMAND.test(part) ? `  ${part.replace(/(, then|[,.])$/, '')}` : part);
  }
  return lines;
}

function isSentenceEnd(text: string, dot: number): boolean {
  const before = text.slice(Math.max(0, dot - 4), dot);
  return /[A-Z(<]/.test(text[dot + 2] ?? '') && !/(e\.g|i\.e)$/.test(before);
}

function vaultName(settings: Settings): string {
  return new URL(settings.keyVaultUrl).hostname.split('.')[0] ?? settings.keyVaultUrl;
}

function statusOf(error: unknown): string {
  const e = error as { statusCode?: number; code?: string };
  return e.statusCode ? `HTTP ${e.statusCode}${e.code ? `, ${e.code}` : ''}` : describe(error).split('\n')[0]!;
}

function kib(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${Math.round(bytes / 1024)} KiB`;
}
