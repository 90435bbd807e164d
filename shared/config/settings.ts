/**
 * The product's settings: the only module that reads the environment.
 *
 * Every setting is declared once in `SETTINGS` (name, default, meaning, fix);
 * `loadSettings` validates them all and names every problem at once, the way the
 * Azure SDK's credentials fail fast. Everything else receives the typed `Settings`.
 */
import { readFileSync } from 'node:fs';
import { DrainError } from '../errors/errors.js';

export type CredentialType = 'secret' | 'certificate' | 'federated';
export type AfterProcessing = 'move' | 'delete' | 'flag';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/**
 * Where the code runs, as its entry point says: it decides the platform identity
 * (the managed identity alone in the function app, DefaultAzureCredential on the
 * command line).
 */
export type RunsIn = 'function' | 'commandLine';

export type StorageConnection =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; queueServiceUri: string; blobServiceUri: string; clientId?: string };

export interface Settings {
  tenantId: string;
  clientId: string;
  credential:
    | { type: 'secret'; secretName: string }
    | { type: 'certificate'; certificateName: string }
    /** No secret anywhere: the managed identity's token is the app's client assertion. */
    | { type: 'federated'; managedIdentityClientId: string };
  /** Empty for `federated`, which reads nothing from Key Vault. */
  keyVaultUrl: string;
  /** Warn this many days before the stored credential expires. */
  credentialExpiryWarningDays: number;
  /** Larger messages are quarantined unparsed (streamed to Blob storage, never held in memory). */
  maxMessageBytes: number;
  /** Failed hand-offs of one message, across runs, before it is quarantined. */
  maxAttempts: number;
  /** Entra ID host for every token request (AZURE_AUTHORITY_HOST). */
  authorityHost: string;
  /** Managed identity client id for Key Vault and Storage (user-assigned identity). */
  managedIdentityClientId?: string;
  mailbox: string;
  folder: string;
  imap: { host: string; port: number };
  afterProcessing: AfterProcessing;
  processedFolder: string;
  failedFolder: string;
  output: { queueName: string; containerName: string; storage: StorageConnection };
  schedule: string;
  logLevel: LogLevel;
  runsIn: RunsIn;
}

/** One documented setting. `fix` tells an operator what a valid value looks like. */
export interface SettingSpec {
  name: string;
  meaning: string;
  default?: string;
  /** `true`: always required; a function: required when it returns true. */
  required?: boolean | ((env: Env) => boolean);
  fix: string;
  check?: (value: string) => string | undefined;
}

type Env = Record<string, string | undefined>;

export const DEFAULT_SCHEDULE = '0 */5 * * * *';
const SCHEDULE_FIX =
  'six space-separated NCRONTAB fields, seconds first ({second} {minute} {hour} {day} {month} {day-of-week}), ' +
  'e.g. "0 */5 * * * *" for every five minutes, or a TimeSpan such as "00:05:00" (App Service plans only)';
/** The app setting that overrides host.json's functionTimeout (the host's AzureFunctionsJobHost__<path> convention). */
export const FUNCTION_TIMEOUT_SETTING = 'AzureFunctionsJobHost__functionTimeout';
export const MICROSOFT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Key Vault object names: 1-127 alphanumerics and dashes.
const VAULT_OBJECT_NAME = /^[0-9a-zA-Z-]{1,127}$/;
// Azure Storage queue names: 3-63 lowercase letters, digits and single dashes; ours
// leave room for the "-poison" suffix of the poison queue.
const QUEUE_NAME = /^[a-z0-9](?!.*--)[a-z0-9-]{1,54}[a-z0-9]$/;
const CONTAINER_NAME = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;

const oneOf = (...allowed: string[]) => (value: string) =>
  allowed.includes(value) ? undefined : `must be one of ${allowed.join(', ')}`;

const guid = (value: string) => (GUID.test(value) ? undefined : 'is not a GUID');

const httpsUrl = (value: string) => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' ? undefined : 'must start with https://';
  } catch {
    return 'is not a URL';
  }
};

const storageUrl = (value: string) => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? undefined : 'is not an http(s) URL';
  } catch {
    return 'is not a URL';
  }
};

const credentialIs = (type: string) => (env: Env) => (env.CREDENTIAL_TYPE ?? 'secret') === type;

/** Every setting the code reads, in the order the README documents them. */
export const SETTINGS: readonly SettingSpec[] = [
  {
    name: 'TENANT_ID',
    meaning: 'Entra tenant (directory) ID of the app registration',
    required: true,
    fix: 'the Directory (tenant) ID from Entra admin center > App registrations > your app > Overview',
    check: guid,
  },
  {
    name: 'CLIENT_ID',
    meaning: 'Application (client) ID of the app registration',
    required: true,
    fix: 'the Application (client) ID from Entra admin center > App registrations > your app > Overview',
    check: guid,
  },
  {
    name: 'CREDENTIAL_TYPE',
    meaning:
      'How the app proves its identity: a client secret or a certificate kept in Key Vault, or federated (the function\'s user-assigned managed identity, no secret at all)',
    default: 'secret',
    fix: '"secret", "certificate" or "federated"',
    check: oneOf('secret', 'certificate', 'federated'),
  },
  {
    name: 'KEY_VAULT_URL',
    meaning: 'Key Vault that holds the app credential (not used with federated)',
    required: (env) => !credentialIs('federated')(env),
    fix: 'the vault URI, e.g. https://my-vault.vault.azure.net',
    check: httpsUrl,
  },
  {
    name: 'CLIENT_SECRET_NAME',
    meaning: 'Key Vault secret holding the client secret value',
    required: credentialIs('secret'),
    fix: 'the name of the Key Vault secret (letters, digits and dashes) that holds the client secret',
    check: (v) => (VAULT_OBJECT_NAME.test(v) ? undefined : 'is not a Key Vault secret name'),
  },
  {
    name: 'CLIENT_CERTIFICATE_NAME',
    meaning: 'Key Vault certificate with its private key (content type application/x-pem-file or application/x-pkcs12)',
    required: credentialIs('certificate'),
    fix: 'the name of the Key Vault certificate, with an exportable private key',
    check: (v) => (VAULT_OBJECT_NAME.test(v) ? undefined : 'is not a Key Vault certificate name'),
  },
  {
    name: 'CREDENTIAL_EXPIRY_WARNING_DAYS',
    meaning: 'Every run warns, with the renewal steps, when the secret or certificate expires within this many days',
    default: '30',
    fix: 'a whole number of days, e.g. 30',
    check: (v) => (/^\d{1,4}$/.test(v) ? undefined : 'is not a whole number of days'),
  },
  {
    name: 'MAILBOX',
    meaning: 'Address of the mailbox to drain',
    required: true,
    fix: 'the mailbox address, e.g. invoices@contoso.com',
    check: (v) => (/^[^\s@]+@[^\s@]+$/.test(v) ? undefined : 'is not a mail address'),
  },
  {
    name: 'MAIL_FOLDER',
    meaning: 'Folder to drain',
    default: 'INBOX',
    fix: 'an IMAP folder path such as INBOX or INBOX/Invoices',
  },
  {
    name: 'IMAP_HOST',
    meaning: 'IMAP server (implicit TLS)',
    default: 'outlook.office365.com',
    fix: 'a host name; Exchange Online is outlook.office365.com',
  },
  {
    name: 'IMAP_PORT',
    meaning: 'IMAP server port (implicit TLS)',
    default: '993',
    fix: 'a port number; Exchange Online uses 993',
    check: (v) => (/^\d+$/.test(v) && +v > 0 && +v < 65536 ? undefined : 'is not a port number'),
  },
  {
    name: 'AFTER_PROCESSING',
    meaning:
      'What happens to a message once the queue has it: move to PROCESSED_FOLDER, delete, or flag \\Seen (and drain only unseen messages)',
    default: 'move',
    fix: '"move", "delete" or "flag"',
    check: oneOf('move', 'delete', 'flag'),
  },
  {
    name: 'PROCESSED_FOLDER',
    meaning: 'Folder for handed-off messages when AFTER_PROCESSING=move; created when missing',
    default: 'Processed',
    fix: 'an IMAP folder path',
  },
  {
    name: 'FAILED_FOLDER',
    meaning: 'Folder for quarantined messages; created when missing',
    default: 'Failed',
    fix: 'an IMAP folder path',
  },
  {
    name: 'MAX_MESSAGE_BYTES',
    meaning:
      'Messages larger than this are quarantined without parsing: raw bytes streamed to Blob storage, moved to FAILED_FOLDER (Exchange Online allows up to 150 MB)',
    default: String(50 * 1024 * 1024),
    fix: 'a number of bytes, e.g. 52428800 for 50 MB',
    check: (v) => (/^\d{4,10}$/.test(v) ? undefined : 'is not a number of bytes (1000 or more)'),
  },
  {
    name: 'MAX_ATTEMPTS',
    meaning: 'Failed hand-offs of one message, counted across runs, before it is quarantined as poison',
    default: '5',
    fix: 'a whole number from 1 to 100',
    check: (v) => (/^\d{1,3}$/.test(v) && +v >= 1 && +v <= 100 ? undefined : 'is not a whole number from 1 to 100'),
  },
  {
    name: 'OUTPUT_QUEUE',
    meaning: 'Storage queue that receives one message per mail; quarantined messages are reported on <OUTPUT_QUEUE>-poison',
    default: 'inbound-mail',
    fix: '3-63 lowercase letters, digits and single dashes',
    check: (v) => (QUEUE_NAME.test(v) ? undefined : 'is not a valid queue name'),
  },
  {
    name: 'OUTPUT_CONTAINER',
    meaning:
      'Blob container for raw messages, attachments and oversized payloads (claim check), quarantined messages and the per-mailbox lease',
    default: 'inbound-mail',
    fix: '3-63 lowercase letters, digits and single dashes',
    check: (v) => (CONTAINER_NAME.test(v) ? undefined : 'is not a valid container name'),
  },
  {
    name: 'OUTPUT_STORAGE',
    meaning: 'Storage connection string; or leave unset and use the identity-based OUTPUT_STORAGE__* settings',
    required: (env) => !env.OUTPUT_STORAGE__queueServiceUri && !env.OUTPUT_STORAGE__blobServiceUri,
    fix: 'a storage connection string, or set OUTPUT_STORAGE__queueServiceUri and OUTPUT_STORAGE__blobServiceUri for identity-based access',
  },
  {
    name: 'OUTPUT_STORAGE__queueServiceUri',
    meaning: 'Identity-based storage: queue service URI',
    required: (env) => !env.OUTPUT_STORAGE && !!env.OUTPUT_STORAGE__blobServiceUri,
    fix: 'https://<account>.queue.core.windows.net',
    check: storageUrl,
  },
  {
    name: 'OUTPUT_STORAGE__blobServiceUri',
    meaning: 'Identity-based storage: blob service URI',
    required: (env) => !env.OUTPUT_STORAGE && !!env.OUTPUT_STORAGE__queueServiceUri,
    fix: 'https://<account>.blob.core.windows.net',
    check: storageUrl,
  },
  {
    name: 'OUTPUT_STORAGE__clientId',
    meaning: 'Identity-based storage: client ID of the user-assigned identity (defaults to AZURE_CLIENT_ID)',
    fix: 'the client ID of the user-assigned managed identity',
    check: guid,
  },
  {
    name: 'OUTPUT_STORAGE__credential',
    meaning: 'Identity-based storage: "managedidentity" (the Functions convention; informational)',
    fix: '"managedidentity"',
    check: oneOf('managedidentity'),
  },
  {
    name: 'DRAIN_SCHEDULE',
    meaning: 'Timer schedule (NCRONTAB, six fields with seconds)',
    default: DEFAULT_SCHEDULE,
    fix: SCHEDULE_FIX,
    check: scheduleProblem,
  },
  {
    name: 'AZURE_CLIENT_ID',
    meaning:
      'Client ID of the user-assigned managed identity that reads Key Vault (and Storage); with federated, the identity the app registration trusts',
    required: credentialIs('federated'),
    fix: 'the client ID of the user-assigned managed identity; unset for a system-assigned identity',
    check: guid,
  },
  {
    name: 'AZURE_AUTHORITY_HOST',
    meaning: 'Entra ID host for all token requests (sovereign, Azure Stack or private clouds)',
    default: MICROSOFT_AUTHORITY_HOST,
    fix: 'an https URL such as https://login.microsoftonline.us',
    check: httpsUrl,
  },
  {
    name: 'LOG_LEVEL',
    meaning: 'debug shows the IMAP conversation and token requests, secrets redacted',
    default: 'info',
    fix: '"debug", "info", "warn" or "error"',
    check: oneOf('debug', 'info', 'warn', 'error'),
  },
];

/** The names of every setting the code reads (for deployment checks). */
export const SETTING_NAMES: readonly string[] = SETTINGS.map((s) => s.name);

/**
 * Reads and validates every setting. Throws one `DrainError` (SETTINGS_INVALID)
 * naming every missing or malformed setting with its fix. The entry point says
 * where it runs (`runsIn`); the command line is the default.
 */
export function loadSettings(env: Env = process.env, options: { runsIn?: RunsIn } = {}): Settings {
  const problems: string[] = [];
  const values: Record<string, string> = {};

  for (const spec of SETTINGS) {
    const raw = env[spec.name]?.trim();
    const required = typeof spec.required === 'function' ? spec.required(env) : spec.required === true;
    if (!raw) {
      if (required) problems.push(`${spec.name} is missing: set it to ${spec.fix}.`);
      else if (spec.default !== undefined) values[spec.name] = spec.default;
      continue;
    }
    const problem = spec.check?.(raw);
    if (problem) problems.push(`${spec.name} ${problem} (got "${raw}"): set it to ${spec.fix}.`);
    else values[spec.name] = raw;
  }

  if (problems.length > 0) throw settingsInvalid(problems);

  const v = (name: string) => values[name] as string;
  const credentialType = v('CREDENTIAL_TYPE') as CredentialType;
  const managedIdentityClientId = values.AZURE_CLIENT_ID;

  return {
    tenantId: v('TENANT_ID'),
    clientId: v('CLIENT_ID'),
    credential:
      credentialType === 'certificate'
        ? { type: 'certificate', certificateName: v('CLIENT_CERTIFICATE_NAME') }
        : credentialType === 'federated'
          ? { type: 'federated', managedIdentityClientId: v('AZURE_CLIENT_ID') }
          : { type: 'secret', secretName: v('CLIENT_SECRET_NAME') },
    keyVaultUrl: values.KEY_VAULT_URL ?? '',
    credentialExpiryWarningDays: Number(v('CREDENTIAL_EXPIRY_WARNING_DAYS')),
    maxMessageBytes: Number(v('MAX_MESSAGE_BYTES')),
    maxAttempts: Number(v('MAX_ATTEMPTS')),
    authorityHost: v('AZURE_AUTHORITY_HOST').replace(/\/+$/, ''),
    managedIdentityClientId,
    mailbox: v('MAILBOX'),
    folder: v('MAIL_FOLDER'),
    imap: { host: v('IMAP_HOST'), port: Number(v('IMAP_PORT')) },
    afterProcessing: v('AFTER_PROCESSING') as AfterProcessing,
    processedFolder: v('PROCESSED_FOLDER'),
    failedFolder: v('FAILED_FOLDER'),
    output: {
      queueName: v('OUTPUT_QUEUE'),
      containerName: v('OUTPUT_CONTAINER'),
      storage: values.OUTPUT_STORAGE
        ? { kind: 'connectionString', connectionString: values.OUTPUT_STORAGE }
        : {
            kind: 'identity',
            queueServiceUri: v('OUTPUT_STORAGE__queueServiceUri'),
            blobServiceUri: v('OUTPUT_STORAGE__blobServiceUri'),
            clientId: values.OUTPUT_STORAGE__clientId ?? managedIdentityClientId,
          },
    },
    schedule: v('DRAIN_SCHEDULE'),
    logLevel: v('LOG_LEVEL') as LogLevel,
    runsIn: options.runsIn ?? 'commandLine',
  };
}

function settingsInvalid(problems: string[]): DrainError {
  return new DrainError(
    'SETTINGS_INVALID',
    `${problems.length} setting${problems.length === 1 ? ' is' : 's are'} not valid:\n` + problems.map((p) => `  - ${p}`).join('\n'),
  );
}

/** The Key Vault name of the app credential, or what stands for it with federated. */
export function credentialName(settings: Pick<Settings, 'credential'>): string {
  switch (settings.credential.type) {
    case 'secret':
      return settings.credential.secretName;
    case 'certificate':
      return settings.credential.certificateName;
    case 'federated':
      return `managed identity ${settings.credential.managedIdentityClientId}`;
  }
}

/**
 * The timer schedule, read at function registration (before a drain's full
 * validation). A schedule the host would refuse fails here, with our words and
 * the fix (the host's would fail indexing as "The schedule expression ... was not
 * recognized"), as SETTINGS_INVALID.
 */
export function drainSchedule(env: Env = process.env): string {
  const schedule = env.DRAIN_SCHEDULE?.trim() || DEFAULT_SCHEDULE;
  const problem = scheduleProblem(schedule);
  if (problem) throw settingsInvalid([`DRAIN_SCHEDULE ${problem} (got "${schedule}"): set it to ${SCHEDULE_FIX}.`]);
  return schedule;
}

// NCRONTAB (the NCrontab library the Functions host uses): *, values, a-b ranges, lists, /steps;
// months and days of the week also by English name or abbreviation.
const SCHEDULE_FIELDS = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'] },
  { name: 'day-of-week', min: 0, max: 6, names: ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] },
] as const;

/** Why a schedule is not one the timer trigger accepts, or undefined for a valid one. */
export function scheduleProblem(schedule: string): string | undefined {
  const value = schedule.trim();
  // A TimeSpan: the interval between runs, hh:mm:ss.
  const span = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(value);
  if (span) {
    const [hours, minutes, seconds] = span.slice(1).map(Number) as [number, number, number];
    if (hours > 23 || minutes > 59 || seconds > 59) return 'is not a TimeSpan (hh:mm:ss, hours 00-23)';
    return hours + minutes + seconds === 0 ? 'is a TimeSpan of zero' : undefined;
  }
  const fields = value.split(/\s+/);
  if (fields.length !== 6) return `does not have six fields (it has ${fields.length}; NCRONTAB here starts with seconds)`;
  for (const [i, field] of fields.entries()) {
    const spec = SCHEDULE_FIELDS[i]!;
    // A number, or (months, days of the week) a name abbreviated to three letters or more.
    const value = (text: string) => {
      if (/^\d+$/.test(text)) return Number(text);
      const index = 'names' in spec && text.length >= 3 ? spec.names.findIndex((n) => n.startsWith(text.toLowerCase())) : -1;
      return index >= 0 ? index + spec.min : undefined;
    };
    // Each item of a list: *, a value or an a-b range, each optionally /step.
    const valid = field.split(',').every((item) => {
      const [range = '', step, ...extra] = item.split('/');
      if (extra.length > 0 || (step !== undefined && !/^[1-9]\d*$/.test(step))) return false;
      if (range === '*') return true;
      const bounds = range.split('-').map(value);
      if (bounds.length > 2 || bounds.some((b) => b === undefined || b < spec.min || b > spec.max)) return false;
      return bounds.length === 1 || bounds[0]! <= bounds[1]!;
    });
    if (!valid) return `has "${field}" as its ${spec.name} field, which NCRONTAB does not accept (${spec.min}-${spec.max}, *, a-b ranges, lists, /steps)`;
  }
  return undefined;
}

/**
 * The time zone note for a schedule that names hours (an hour field other than
 * "every hour" or "every n hours"): on Flex Consumption, the template's plan, and
 * Linux Consumption, NCRONTAB runs in UTC, and WEBSITE_TIME_ZONE is not supported.
 */
export function scheduleTimeZoneNote(schedule: string): string | undefined {
  const fields = schedule.trim().split(/\s+/);
  const hour = fields[2];
  if (fields.length !== 6 || hour === undefined || hour === '*' || /^\*\/\d+$/.test(hour)) return undefined;
  return (
    `DRAIN_SCHEDULE "${schedule.trim()}" names hours (${hour}), and they are UTC: on Flex Consumption (the template's plan) ` +
    'and Linux Consumption, NCRONTAB runs in UTC and WEBSITE_TIME_ZONE is not supported, so write the hours in UTC.'
  );
}

/** The AzureFunctionsJobHost__functionTimeout app setting, when set: it overrides host.json's functionTimeout. */
export function functionTimeoutSetting(env: Env = process.env): string | undefined {
  // The host reads its configuration case-insensitively, as .NET configuration does.
  const key = Object.keys(env).find((k) => k.toLowerCase() === FUNCTION_TIMEOUT_SETTING.toLowerCase());
  return (key && env[key]?.trim()) || undefined;
}

/**
 * The environment with the `Values` of a Functions settings file
 * (local.settings.json) laid over it: a file named on the command line wins.
 */
export function withSettingsFile(path: string, env: Env = process.env): Env {
  let values: unknown;
  try {
    values = (JSON.parse(readFileSync(path, 'utf8')) as { Values?: unknown }).Values;
  } catch (error) {
    throw new DrainError(
      'SETTINGS_INVALID',
      `Settings file ${path} could not be read: ${(error as Error).message}`,
      { settingsFile: path },
    );
  }
  if (typeof values !== 'object' || values === null) {
    throw new DrainError('SETTINGS_INVALID', `Settings file ${path} has no "Values" object.`, { settingsFile: path });
  }
  return { ...env, ...(values as Env) };
}
