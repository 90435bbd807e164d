/** What the doctor reads from a token, and how it prints a step: the remedy table's steps, each command on its own line. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DrainError } from '../../../shared/errors/errors.js';
import { Checklist } from '../../../shared/operate/doctor/checklist.js';
import { formatStep } from '../../../shared/operate/doctor/formatStep.js';
import { tokenClaims } from '../../../shared/operate/doctor/tokenClaims.js';

const jwt = (payload: object) => ['eyJhbGciOiJub25lIn0', Buffer.from(JSON.stringify(payload)).toString('base64url'), ''].join('.');

test('tokenClaims reads the claims Exchange cares about, and refuses what is not a JWT without quoting it', () => {
  const claims = tokenClaims(jwt({ aud: 'https://outlook.office365.com', roles: ['IMAP.AccessAsApp', 7], tid: 't', azp: 'a', oid: 'o', exp: 1 }));
  assert.deepEqual(claims, { aud: 'https://outlook.office365.com', roles: ['IMAP.AccessAsApp'], tid: 't', appid: 'a', oid: 'o', exp: 1 });
  assert.throws(
    () => tokenClaims('opaque-token-value'),
    (error: unknown) => error instanceof DrainError && error.code === 'ENTRA_TOKEN_MISMATCH' && !error.message.includes('opaque-token-value'),
  );
});

test('a step prints its words, and each command on a line of its own', () => {
  const lines = formatStep({
    name: 'keyVault',
    status: 'fail',
    code: 'KEYVAULT_NOT_FOUND',
    detail: 'no secret\nsecond line',
    steps: [{ say: 'Store the client secret:', run: ['az keyvault secret set --name s', 'az x'] }, { say: 'Or correct CLIENT_SECRET_NAME.' }],
  });
  assert.deepEqual(lines, [
    '[FAIL] Key Vault: [KEYVAULT_NOT_FOUND] no secret',
    '       second line',
    '       What to do:',
    '         Store the client secret:',
    '           az keyvault secret set --name s',
    '           az x',
    '         Or correct CLIENT_SECRET_NAME.',
  ]);
});

test('the checklist fills what earlier checks found into the remedy: the object ID from the token', async () => {
  const lines: string[] = [];
  const list = new Checklist((line) => lines.push(line));
  const failing = async () => {
    throw new DrainError('IMAP_MAILBOX_NOT_CONNECTED', 'not connected', { clientId: 'app-1', mailbox: 'm@contoso.example' });
  };
  await list.check('imap', failing, { objectId: 'sp-1' });
  assert.ok(lines.includes('           New-ServicePrincipal -AppId app-1 -ObjectId sp-1'), lines.join('\n'));
  assert.ok(lines.includes('           Add-MailboxPermission -Identity m@contoso.example -User sp-1 -AccessRights FullAccess'), lines.join('\n'));
  const [step] = list.finish().steps;
  assert.match(step!.remedy!, /-User sp-1 -AccessRights FullAccess/);
  const transient = new Checklist(() => {});
  await transient.check('queue', async () => {
    throw new DrainError('STORAGE_FAILED', 'busy', { queue: 'q' });
  });
  assert.equal(transient.steps[0]!.passes, true);
});
