/** The remedy table: complete, rendered from facts, and the README's troubleshooting table is its rendering. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DrainError, type DrainErrorCode } from '../../../shared/errors/errors.js';
import { explainKeyVaultError } from '../../../shared/errors/explainKeyVaultError.js';
import { explainStorageError } from '../../../shared/errors/explainStorageError.js';
import { REMEDIES } from '../../../shared/errors/remedies.js';
import { README_MARKERS, renderRemediesTable } from '../../../shared/errors/remediesTable.js';
import { renderRemedy } from '../../../shared/errors/renderRemedy.js';

const CODES = Object.keys(REMEDIES) as DrainErrorCode[];
// Every member of the DrainErrorCode union, read from its declaration: a code added there without a remedy fails here.
const DECLARED = [...readFileSync(new URL('../../../shared/errors/errors.ts', import.meta.url), 'utf8').matchAll(/^\s*\| '([A-Z_]+)'/gm)].map((m) => m[1]!);
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

test('every DrainErrorCode has a remedy with a summary, what was said, and steps', () => {
  assert.ok(DECLARED.length >= 30, `only ${DECLARED.length} codes found`);
  assert.deepEqual([...CODES].sort(), [...DECLARED].sort());
  for (const code of CODES) {
    const remedy = REMEDIES[code];
    assert.ok(remedy.summary && remedy.said, code);
    for (const facts of [{}, { credentialType: 'certificate' as const }, { credentialType: 'federated' as const, runsIn: 'function' as const }]) {
      const steps = remedy.steps(facts);
      assert.ok(steps.length > 0 && steps.every((s) => s.say.length > 0), code);
    }
  }
});

test('remedies are rendered from facts; unknown facts show as placeholders', () => {
  const facts = { vault: 'kv', credentialType: 'secret' as const, credentialName: 'the-secret', clientId: 'app-1', mailbox: 'm@contoso.example', objectId: 'sp-1' };
  assert.equal(
    renderRemedy('KEYVAULT_NOT_FOUND', facts),
    "Store the client secret: az keyvault secret set --vault-name kv --name the-secret --value '<secret value>' --expires <its expiry>. Or correct CLIENT_SECRET_NAME.",
  );
  assert.match(renderRemedy('IMAP_MAILBOX_NOT_CONNECTED', facts), /New-ServicePrincipal -AppId app-1 -ObjectId sp-1; Add-MailboxPermission -Identity m@contoso\.example -User sp-1 -AccessRights FullAccess\./);
  assert.match(renderRemedy('IMAP_MAILBOX_NOT_CONNECTED', {}), /New-ServicePrincipal -AppId <client id> -ObjectId <enterprise-app-object-id>/);
  const error = new DrainError('CREDENTIAL_EXPIRED', 'expired', { ...facts, credentialType: 'certificate', credentialName: 'cert' });
  assert.match(error.remedy, /az keyvault certificate create --vault-name kv --name cert --policy @infra\/certificate-policy\.json/);
  assert.match(error.explain(), /^\[CREDENTIAL_EXPIRED\] expired\n {2}What to do: Create a new version/);
});

test('the split codes: a missing queue needs a person, a passing Storage failure does not; no identity is not a forbidden vault', () => {
  const missing = explainStorageError(Object.assign(new Error('gone'), { statusCode: 404, code: 'QueueNotFound' }), { queue: 'inbound-mail' });
  assert.equal(missing.code, 'STORAGE_QUEUE_NOT_FOUND');
  assert.equal(missing.passes, false);
  assert.match(missing.remedy, /az storage queue create --name inbound-mail/);
  const container = explainStorageError(Object.assign(new Error('gone'), { statusCode: 404, code: 'ContainerNotFound' }), { container: 'c', blob: 'b' });
  assert.equal(container.code, 'STORAGE_CONTAINER_NOT_FOUND');
  const busy = explainStorageError(Object.assign(new Error('busy'), { statusCode: 503 }), { queue: 'inbound-mail' });
  assert.equal(busy.code, 'STORAGE_FAILED');
  assert.equal(busy.passes, true);

  const noIdentity = explainKeyVaultError(Object.assign(new Error('no credential'), { name: 'CredentialUnavailableError' }), { runsIn: 'commandLine' });
  assert.equal(noIdentity.code, 'IDENTITY_UNAVAILABLE');
  assert.match(noIdentity.remedy, /az login/);
  const forbidden = explainKeyVaultError(Object.assign(new Error('Forbidden'), { statusCode: 403 }), { vault: 'kv', credentialName: 's' });
  assert.equal(forbidden.code, 'KEYVAULT_FORBIDDEN');
  const disabled = explainKeyVaultError(Object.assign(new Error('Forbidden'), { statusCode: 403, code: 'SecretDisabled' }), { vault: 'kv', credentialName: 's' });
  assert.equal(disabled.code, 'KEYVAULT_SECRET_DISABLED');
  assert.match(disabled.remedy, /az keyvault secret set-attributes --vault-name kv --name s --enabled true/);
});

test("the README's troubleshooting table is the rendered remedy table, with a row for every code", () => {
  const start = readme.indexOf(README_MARKERS.start);
  const end = readme.indexOf(README_MARKERS.end);
  assert.ok(start >= 0 && end > start, 'the README has the remedies markers');
  const table = readme.slice(start + README_MARKERS.start.length, end).trim();
  assert.equal(table, renderRemediesTable().trim(), 'run npm run docs');
  const rows = table.split('\n').filter((line) => line.startsWith('| `'));
  for (const code of CODES) assert.ok(rows.some((row) => row.startsWith(`| \`${code}\` |`)), `no README row for ${code}`);
});
