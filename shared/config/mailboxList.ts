/**
 * MAILBOXES: the mailboxes one deployment drains. Either addresses separated by
 * commas, or a JSON array of objects, each with `mailbox` and the overrides it
 * needs. Every bad entry is named with its fix, all at once, and the words
 * become part of SETTINGS_INVALID ("MAILBOXES <words> (got ...): set it to ...").
 */
import { z } from 'zod';
import { settingFormats as format } from './settingFormats.js';

/** The keys an entry may have; anything else is a typo to be told about, not ignored. */
const entrySchema = z.strictObject({
  mailbox: format.mailAddress(),
  folder: z.string().trim().min(1, 'is empty').optional(),
  afterProcessing: format.oneOf('move', 'delete', 'flag').optional(),
  processedFolder: z.string().trim().min(1, 'is empty').optional(),
  failedFolder: z.string().trim().min(1, 'is empty').optional(),
  outputQueue: format.queueName().optional(),
  outputContainer: format.containerName().optional(),
  enabled: z.boolean({ error: 'must be true or false' }).optional(),
});

/** One entry of MAILBOXES as written: what it leaves out comes from the deployment-wide settings. */
export type MailboxEntry = z.output<typeof entrySchema>;

export const MAILBOX_ENTRY_KEYS = Object.keys(entrySchema.shape);

/** The entries, or every problem with them (each naming its entry). */
export function parseMailboxList(value: string): { entries: MailboxEntry[]; problems: string[] } {
  const text = value.trim();
  if (!text.startsWith('[')) {
    const addresses = text.split(',').map((a) => a.trim());
    const problems = addresses.flatMap((address, i) =>
      address === '' ? [`entry ${i + 1} is empty`] : format.mailAddress().safeParse(address).success ? [] : [`entry ${i + 1} "${address}" is not a mail address`],
    );
    return { entries: problems.length ? [] : addresses.map((mailbox) => ({ mailbox })), problems };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not the parser's words: they name a position and differ between Node versions.
    return { entries: [], problems: ['starts with "[" but is not valid JSON (check its quotes, commas and brackets)'] };
  }
  if (!Array.isArray(json) || json.length === 0) return { entries: [], problems: ['is not a JSON array of at least one mailbox'] };
  const entries: MailboxEntry[] = [];
  const problems: string[] = [];
  json.forEach((item, i) => {
    const parsed = entrySchema.safeParse(item);
    if (parsed.success) return entries.push(parsed.data);
    const who = typeof (item as { mailbox?: unknown })?.mailbox === 'string' ? ` (${(item as { mailbox: string }).mailbox})` : '';
    for (const issue of parsed.error.issues) problems.push(`entry ${i + 1}${who}: ${entryProblem(issue)}`);
  });
  return { entries, problems };
}

function entryProblem(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')} (allowed: ${MAILBOX_ENTRY_KEYS.join(', ')})`;
  if (issue.path.length === 0) return 'is not an object such as {"mailbox": "invoices@contoso.com"}';
  const key = String(issue.path[0]);
  return issue.code === 'invalid_type' && /received undefined/.test(issue.message) ? `"${key}" is missing` : `"${key}" ${issue.message}`;
}

/** The folder's identity on the server: INBOX is INBOX in any case (RFC 3501), other names as written. */
export function folderKey(mailbox: string, folder: string): string {
  return `${mailbox.toLowerCase()}\n${folder.toUpperCase() === 'INBOX' ? 'INBOX' : folder}`;
}

/** Mailbox/folder pairs named twice, as "entries 1 and 3 both drain a@b folder INBOX". */
export function duplicatePairs(pairs: { mailbox: string; folder: string }[]): string[] {
  const first = new Map<string, number>();
  const problems: string[] = [];
  pairs.forEach(({ mailbox, folder }, i) => {
    const key = folderKey(mailbox, folder);
    const seen = first.get(key);
    if (seen === undefined) first.set(key, i);
    else problems.push(`entries ${seen + 1} and ${i + 1} both drain ${mailbox} folder "${folder}" (one drain per mailbox folder: remove one, or give it another "folder")`);
  });
  return problems;
}
