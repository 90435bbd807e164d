/** Remedies for what `mail-drain replay` and `mail-drain redrive` find in Blob storage. */
import type { DrainErrorCode } from '../errors.js';
import type { Remedy } from './remedy.js';

type OperateCode = Extract<DrainErrorCode, 'CLAIM_CHECK_GONE' | 'BLOB_IDENTITY_MISSING' | 'STILL_TOO_LARGE' | 'STILL_UNPARSEABLE'>;

export const OPERATE_REMEDIES: Record<OperateCode, Remedy> = {
  CLAIM_CHECK_GONE: {
    said: '`mail-drain replay`: Storage 404 for `messages/<id>/raw.eml`',
    summary: 'past the claim-check retention (`claimCheckRetentionDays`, 30 by default) or never handed off under that id: it cannot be replayed',
    passes: false,
    steps: () => [
      {
        say:
          'The lifecycle rule deletes claim-check blobs claimCheckRetentionDays after they were written, or no drain handed off that id: replay cannot rebuild it. ' +
          'With AFTER_PROCESSING=move the mail itself is still in PROCESSED_FOLDER: move it back to the drained folder, and the next drain hands it off again under a new id.',
      },
    ],
  },
  BLOB_IDENTITY_MISSING: {
    said: '`mail-drain replay` / `redrive`: a raw.eml without its identity metadata',
    summary: 'stored by a version before replay and redrive: hand it off by hand (move the mail back in Outlook)',
    passes: false,
    steps: () => [
      {
        say:
          'The blob does not record which mail it is (mailbox, folder, UIDVALIDITY, UID, INTERNALDATE): it was stored before mail-drain recorded them, or its metadata was changed. ' +
          'Move the mail from FAILED_FOLDER (or PROCESSED_FOLDER) back to the drained folder in Outlook; the next drain hands it off under a new id.',
      },
    ],
  },
  STILL_TOO_LARGE: {
    said: '`mail-drain redrive`: the quarantined message is still over `MAX_MESSAGE_BYTES`',
    summary: 'raise `MAX_MESSAGE_BYTES` above its size, then redrive again',
    passes: false,
    steps: () => [{ say: 'Raise MAX_MESSAGE_BYTES above its size, in the settings of the drain and of this redrive, then run mail-drain redrive again. Nothing was moved.' }],
  },
  STILL_UNPARSEABLE: {
    said: '`mail-drain redrive`: mailparser still refuses the quarantined message',
    summary: 'the cause is not fixed yet: the quarantined copy is kept; redrive again once it is',
    passes: false,
    steps: () => [{ say: 'Its quarantined copy is kept as it was. Redrive it again once a mail-drain that parses it is installed.' }],
  },
};
