/**
 * What may be deleted in the output container. It holds three kinds of blob:
 * the claim checks under `messages/<id>/` (raw MIME, attachments, oversized
 * payloads, bodies), which the lifecycle rule expires; the drain's lease state
 * under `locks/` (UIDVALIDITY, attempt counts); and quarantined mail under
 * `quarantine/`, the only copy of a poison message's bytes besides the
 * mailbox's Failed folder. The last two must never expire. The rule once
 * matched the whole container (`<container>/`) and deleted all three; these
 * tests read the rule's filters from the template and apply them the way
 * Storage does (a blob matches when `<container>/<blob name>` starts with one
 * of the prefixes, and a rule without prefixes matches every blob), and check
 * that blob and container soft delete keep whatever is deleted restorable.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { literalAt, parseBicep, propertyAt, type BicepFile, type Decorator, type Value } from './support/bicep.js';
import { loadTemplates } from './support/infra.js';
import { blobNames, CLAIM_CHECK_PREFIX } from '../../shared/drain/handOff.js';

const templates = await loadTemplates();
const outputStorage = templates.get('modules/output-storage.bicep')!;
const main = templates.get('main.bicep')!;

/** The container name the prefixes are resolved with: main.bicep's default. */
const containerDefault = main.params.find((p) => p.name === 'outputContainerName')?.defaultValue;
const containerName = containerDefault?.kind === 'string' ? containerDefault.value : 'inbound-mail';
const id = '0190c3b2-7a4e-7cde-9f00-3c5d2b1a0e11';
// The names the drain writes, from the drain's own code: the template and the code cannot drift apart.
const claimChecks = [blobNames.raw(id), blobNames.attachment(id, 0, 'invoice.pdf'), blobNames.payload(id), blobNames.body(id, 'text'), blobNames.body(id, 'html')];
const mustNeverExpire = ['locks/mailbox.json', `locks/${id}.json`, `quarantine/${id}/raw.eml`];

/** A prefixMatch entry with `${param}` resolved from `values`, or undefined when it reads anything else. */
function resolve(item: Value, values: Record<string, string>): string | undefined {
  if (item.kind === 'string') return item.value;
  if (item.kind !== 'interpolated') return undefined;
  let unresolved = false;
  const text = item.node.text.slice(1, -1).replace(/\$\{\s*(\w+)\s*\}/g, (_, name: string) => {
    if (name in values) return values[name]!;
    unresolved = true;
    return '';
  });
  return unresolved || text.includes('${') ? undefined : text;
}

function decoratorNumber(decorators: Decorator[], name: string): number | undefined {
  const arg = decorators.find((d) => d.name === name)?.args[0];
  return arg?.kind === 'number' ? arg.value : undefined;
}

/** What would let a lifecycle rule of `file` delete a blob that must never expire, or keep it from expiring claim checks. */
function lifecycleProblems(file: BicepFile): string[] {
  const problems: string[] = [];
  const policies = file.resources.filter((r) => r.type === 'Microsoft.Storage/storageAccounts/managementPolicies');
  if (policies.length !== 1) return [`expected one management policy, found ${policies.length}`];
  const rules = propertyAt(policies[0]!.body, 'properties.policy.rules');
  if (rules?.kind !== 'array') return ['the management policy has no literal rules array'];

  const expiring: string[] = [];
  for (const rule of rules.items) {
    const name = String(literalAt(rule, 'name') ?? '?');
    if (!propertyAt(rule, 'definition.actions')) continue;
    const prefixMatch = propertyAt(rule, 'definition.filters.prefixMatch');
    if (prefixMatch?.kind !== 'array' || prefixMatch.items.length === 0) {
      problems.push(`rule ${name} has no prefixMatch, so it matches every blob in the account`);
      continue;
    }
    const prefixes = prefixMatch.items.map((item) => resolve(item, { containerName }));
    if (prefixes.some((p) => p === undefined)) {
      problems.push(`rule ${name}: cannot read prefixMatch ${prefixMatch.node.text}`);
      continue;
    }
    for (const blob of mustNeverExpire) {
      const matched = prefixes.find((p) => `${containerName}/${blob}`.startsWith(p!));
      if (matched !== undefined) problems.push(`rule ${name} matches ${blob} (prefix "${matched}")`);
    }
    if (literalAt(rule, 'enabled') === true) expiring.push(...(prefixes as string[]));
  }

  const rule = rules.items.find((r) => literalAt(r, 'name') === 'delete-claim-checks');
  if (!rule) return [...problems, 'there is no rule delete-claim-checks'];
  const prefixMatch = propertyAt(rule, 'definition.filters.prefixMatch');
  const texts = prefixMatch?.kind === 'array' ? prefixMatch.items.map((i) => i.node.text) : [];
  if (texts.length !== 1 || texts[0] !== `'\${containerName}/${CLAIM_CHECK_PREFIX}'`) {
    problems.push(`delete-claim-checks: prefixMatch is ${prefixMatch?.node.text.replace(/\s+/g, '') ?? 'missing'}, not ['\${containerName}/messages/']`);
  }
  const blobTypes = propertyAt(rule, 'definition.filters.blobTypes');
  const types = blobTypes?.kind === 'array' ? blobTypes.items.map((i) => ('value' in i ? i.value : i.node.text)) : [];
  if (types.length !== 1 || types[0] !== 'blockBlob') problems.push(`delete-claim-checks: blobTypes is ${blobTypes?.node.text ?? 'missing'}, not ['blockBlob']`);
  for (const blob of claimChecks) {
    if (!expiring.some((p) => `${containerName}/${blob}`.startsWith(p))) problems.push(`no enabled rule expires the claim check ${blob}`);
  }
  return problems;
}

/** What keeps blob or container soft delete from being on, for a described number of days, in `file`. */
function softDeleteProblems(file: BicepFile): string[] {
  const services = file.resources.filter((r) => r.type === 'Microsoft.Storage/storageAccounts/blobServices');
  if (services.length !== 1) return [`expected one blob service, found ${services.length}`];
  const service = services[0]!;
  const problems: string[] = [];
  for (const policy of ['deleteRetentionPolicy', 'containerDeleteRetentionPolicy']) {
    if (literalAt(service.body, `properties.${policy}.enabled`) !== true) problems.push(`blob service: ${policy}.enabled is not true`);
    const days = propertyAt(service.body, `properties.${policy}.days`);
    if (days?.node.text !== 'softDeleteRetentionDays') problems.push(`blob service: ${policy}.days is ${days?.node.text ?? 'missing'}, not softDeleteRetentionDays`);
  }
  const param = file.params.find((p) => p.name === 'softDeleteRetentionDays');
  if (!param) problems.push('there is no parameter softDeleteRetentionDays');
  else if (decoratorNumber(param.decorators, 'minValue') !== 1 || decoratorNumber(param.decorators, 'maxValue') !== 365) {
    problems.push('softDeleteRetentionDays is not @minValue(1) @maxValue(365), the range Storage allows');
  }
  return problems;
}

// The rule and blob service as they were before the fix (infra/modules/output-storage.bicep).
const before = `
param containerName string
param retentionDays int

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: 'stmail'
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: account
  name: 'default'
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2025-01-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-claim-checks'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '\${containerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: retentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}
`;

describe('output container: what expires', () => {
  test("the lifecycle rule never deletes the drain's lease state or quarantined mail", () => {
    assert.deepEqual(lifecycleProblems(outputStorage), []);
  });

  test('blob soft delete and container soft delete are enabled on the output account', () => {
    assert.deepEqual(softDeleteProblems(outputStorage), []);
    const param = main.params.find((p) => p.name === 'blobSoftDeleteRetentionDays');
    const days = param?.defaultValue?.kind === 'number' ? param.defaultValue.value : undefined;
    assert.equal(days, 14, 'main.bicep: blobSoftDeleteRetentionDays defaults to 14 days');
    assert.equal(decoratorNumber(param!.decorators, 'minValue'), 1);
    assert.equal(decoratorNumber(param!.decorators, 'maxValue'), 365);
    const passed = propertyAt(main.modules.find((m) => m.path === 'modules/output-storage.bicep')?.body, 'params.softDeleteRetentionDays');
    assert.equal(passed?.node.text, 'blobSoftDeleteRetentionDays');
  });

  test('both checks fail on the template as it was, whose rule matched the whole container', async () => {
    const old = await parseBicep(before, 'output-storage.bicep (before)');
    const lifecycle = lifecycleProblems(old);
    for (const blob of mustNeverExpire) {
      assert.ok(lifecycle.some((p) => p.includes(`matches ${blob}`)), `expected the old rule to match ${blob}, got:\n${lifecycle.join('\n')}`);
    }
    assert.ok(lifecycle.some((p) => /prefixMatch is \['\$\{containerName\}\/'\]/.test(p)), lifecycle.join('\n'));
    const softDelete = softDeleteProblems(old);
    assert.ok(softDelete.some((p) => p.includes('deleteRetentionPolicy.enabled is not true')), softDelete.join('\n'));
    assert.ok(softDelete.some((p) => p.includes('containerDeleteRetentionPolicy.enabled is not true')), softDelete.join('\n'));
  });

  test('a rule without prefixMatch counts as matching everything', async () => {
    const file = await parseBicep(before.replace(/prefixMatch: \[[^\]]*\]/, 'prefixMatch: []'));
    assert.ok(lifecycleProblems(file).some((p) => /no prefixMatch/.test(p)));
  });
});
