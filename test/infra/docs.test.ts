/**
 * The deployment guide (docs/deploy.md) and the Exchange script give the
 * commands the issue names, and every deployment output they read exists, so
 * that renaming an output cannot silently break a step of the guide.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { infraDir, loadTemplates, repoRoot } from './support/infra.js';

const templates = await loadTemplates();
const outputs = new Set(templates.get('main.bicep')!.outputs.map((o) => o.name));
const guide = readFileSync(join(repoRoot, 'docs/deploy.md'), 'utf8');
const script = readFileSync(join(infraDir, 'exchange-setup.ps1'), 'utf8');

/** Output names read as `$(out X)`, `properties.outputs.X`, `$out.X.value` or "output `X`". */
function outputsRead(text: string): string[] {
  const patterns = [/\$\(out (\w+)\)/g, /^out (\w+)/gm, /properties\.outputs\.(\w+)/g, /\$out\.(\w+)\.value/g, /\boutputs? `(\w+)`/g];
  return [...new Set(patterns.flatMap((p) => [...text.matchAll(p)].map((m) => m[1]!)))];
}

describe('deployment guide and Exchange script', () => {
  test('docs/deploy.md gives each command of the deployment', () => {
    for (const command of [
      'az group create',
      'az deployment group create',
      '--template-file infra/main.bicep --parameters infra/main.bicepparam',
      'az keyvault secret set',
      'az keyvault certificate import',
      'npm run package',
      'az functionapp deployment source config-zip',
      './infra/exchange-setup.ps1',
    ]) {
      assert.ok(guide.includes(command), `docs/deploy.md does not mention ${command}`);
    }
    assert.match(guide, /### What only a real deployment can confirm/);
  });

  test('every deployment output the guide and the script read exists in main.bicep', () => {
    const read = [...outputsRead(guide), ...outputsRead(script)];
    assert.ok(read.length >= 8, `only ${read.length} outputs found in the guide`);
    assert.deepEqual(read.filter((name) => !outputs.has(name)), []);
  });

  test('files the guide points at exist', () => {
    for (const match of guide.matchAll(/(?:@|\.\/)?\b((?:infra|docs|scripts)\/[\w./-]+\.\w+)/g)) {
      assert.ok(existsSync(join(repoRoot, match[1]!)), `docs/deploy.md refers to ${match[1]}, which does not exist`);
    }
  });

  test('exchange-setup.ps1 connects, registers the service principal, grants and checks mailbox access', () => {
    for (const cmdlet of ['Connect-ExchangeOnline', 'New-ServicePrincipal', 'Add-MailboxPermission', 'Get-MailboxPermission', 'Disconnect-ExchangeOnline']) {
      assert.match(script, new RegExp(`\\b${cmdlet}\\b`), `exchange-setup.ps1 does not run ${cmdlet}`);
    }
    for (const parameter of ['AppId', 'ServicePrincipalObjectId']) {
      assert.match(script, new RegExp(`\\[string\\]\\s*\\$${parameter}\\b`), `exchange-setup.ps1 has no -${parameter}`);
    }
    // Every mailbox of the deployment's mailboxes, in one run.
    assert.match(script, /\[string\[\]\]\s*\$Mailbox\b/, 'exchange-setup.ps1: -Mailbox does not take a list');
    const at = script.search(/foreach \(\$address in \$addresses\)/);
    assert.ok(at >= 0, 'exchange-setup.ps1 does not loop over the mailboxes');
    const loop = script.slice(at);
    for (const cmdlet of ['Get-CASMailbox', 'Add-MailboxPermission', 'Get-MailboxPermission']) {
      assert.match(loop, new RegExp(`\\b${cmdlet} -Identity \\$address\\b`), `exchange-setup.ps1 does not run ${cmdlet} for each mailbox`);
    }
    assert.match(script, /-AccessRights FullAccess/);
  });
});
