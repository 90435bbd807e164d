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
 * A mailbox may keep its blobs in a container of its own (MAILBOXES
 * `outputContainer`): every container the template creates gets the same rule.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { literalAt, loopHeader, parseBicep, propertyAt, type BicepFile, type Decorator, type Value } from './support/bicep.js';
import { loadTemplates } from './support/infra.js';
import { blobNames, CLAIM_CHECK_PREFIX } from '../../shared/drain/handOff.js';

const templates = await loadTemplates();
const outputStorage = templates.get('modules/output-storage.bicep')!;
const main = templates.get('main.bicep')!;

/** The container name the prefixes are resolved with: main.bicep's default. */
const containerDefault = main.params.find((p) => p.name === 'outputContainerName')?.defaultValue;
const containerName = containerDefault?.kind === 'string' ? containerDefault.value : 'inbound-mail';
/** A mailbox's own container (MAILBOXES outputContainer), for a template that creates one per entry. */
const mailboxContainer = 'orders-mail';
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

/** The containers `file` creates: the deployment-wide one, and a mailbox's own when they are a resource loop. */
function containersOf(file: BicepFile): string[] {
  const loop = file.resources.some((r) => r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers' && r.loopOver);
  return loop ? [containerName, mailboxContainer] : [containerName];
}

/**
 * The rules of the policy as Storage gets them, each with the names its
 * interpolations read: a literal list of rules, or one rule per container,
 * `[for <name> in <containers>: {...}]` iterating what the containers' resource
 * loop iterates, taken for each container of containersOf.
 */
function rulesOf(
  file: BicepFile,
  rules: Value | undefined,
): { rules: { rule: Value; values: Record<string, string>; variable: string }[]; problems: string[] } {
  if (rules?.kind === 'array') {
    return { rules: rules.items.map((rule) => ({ rule, values: { containerName }, variable: 'containerName' })), problems: [] };
  }
  if (rules?.kind !== 'loop') return { rules: [], problems: ['the management policy has no literal rules array or loop'] };
  const header = loopHeader(rules.node);
  const containers = file.resources.filter((r) => r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers' && !r.existing);
  const iterated = containers.map((c) => c.loopOver?.source.text);
  if (containers.length !== 1 || iterated[0] !== header.source.text) {
    return { rules: [], problems: [`the rules loop over ${header.source.text}, the containers over ${iterated.join(', ') || 'nothing'}: not one rule per container`] };
  }
  const variable = header.item;
  return { rules: containersOf(file).map((container) => ({ rule: rules.body, values: { containerName, [variable]: container }, variable })), problems: [] };
}

/** What would let a lifecycle rule of `file` delete a blob that must never expire, or keep it from expiring claim checks. */
function lifecycleProblems(file: BicepFile): string[] {
  const policies = file.resources.filter((r) => r.type === 'Microsoft.Storage/storageAccounts/managementPolicies');
  if (policies.length !== 1) return [`expected one management policy, found ${policies.length}`];
  const { rules, problems } = rulesOf(file, propertyAt(policies[0]!.body, 'properties.policy.rules'));
  const containers = containersOf(file);

  const expiring: string[] = [];
  const names: string[] = [];
  for (const { rule, values, variable } of rules) {
    const nameValue = propertyAt(rule, 'name');
    const name = (nameValue && resolve(nameValue, values)) ?? '?';
    names.push(name);
    if (!propertyAt(rule, 'definition.actions')) continue;
    const prefixMatch = propertyAt(rule, 'definition.filters.prefixMatch');
    if (prefixMatch?.kind !== 'array' || prefixMatch.items.length === 0) {
      problems.push(`rule ${name} has no prefixMatch, so it matches every blob in the account`);
      continue;
    }
    const prefixes = prefixMatch.items.map((item) => resolve(item, values));
    if (prefixes.some((p) => p === undefined)) {
      problems.push(`rule ${name}: cannot read prefixMatch ${prefixMatch.node.text}`);
      continue;
    }
    for (const blob of mustNeverExpire) {
      for (const c of containers) {
        const matched = prefixes.find((p) => `${c}/${blob}`.startsWith(p!));
        if (matched !== undefined) problems.push(`rule ${name} matches ${c === containerName ? '' : `${c}/`}${blob} (prefix "${matched}")`);
      }
    }
    if (literalAt(rule, 'enabled') === true) expiring.push(...(prefixes as string[]));

    if (!name.startsWith('delete-claim-checks')) continue;
    // The one prefix, written as the container the rule is for and the claim checks' folder.
    const texts = prefixMatch.items.map((i) => i.node.text);
    if (texts.length !== 1 || texts[0] !== `'\${${variable}}/${CLAIM_CHECK_PREFIX}'`) {
      problems.push(`${name}: prefixMatch is ${prefixMatch.node.text.replace(/\s+/g, '')}, not ['\${${variable}}/messages/']`);
    }
    const blobTypes = propertyAt(rule, 'definition.filters.blobTypes');
    const types = blobTypes?.kind === 'array' ? blobTypes.items.map((i) => ('value' in i ? i.value : i.node.text)) : [];
    if (types.length !== 1 || types[0] !== 'blockBlob') problems.push(`${name}: blobTypes is ${blobTypes?.node.text ?? 'missing'}, not ['blockBlob']`);
  }

  if (!names.some((n) => n.startsWith('delete-claim-checks'))) problems.push('there is no rule delete-claim-checks');
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length) problems.push(`rule names repeat (Storage refuses the policy): ${twice.join(', ')}`);
  for (const c of containers) {
    for (const blob of claimChecks) {
      if (!expiring.some((p) => `${c}/${blob}`.startsWith(p))) problems.push(`no enabled rule expires the claim check ${c}/${blob}`);
    }
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

  test("a mailbox's own container gets the rule too: one rule per container, not one for the deployment-wide container alone", async () => {
    const source = outputStorage.source;
    const loop = /rules: \[\s*for container in containerNames: \{/;
    assert.match(source, loop, 'the rules are not one per container of containerNames');
    // The rules for the deployment-wide container only, while the containers are a list.
    const onlyDefault = await parseBicep(source.replace(loop, 'rules: [\n        {').replace("name: 'delete-claim-checks-${container}'", "name: 'delete-claim-checks'").replace("'${container}/messages/'", "'${containerName}/messages/'"));
    assert.ok(lifecycleProblems(onlyDefault).some((p) => p === `no enabled rule expires the claim check ${mailboxContainer}/${claimChecks[0]}`), lifecycleProblems(onlyDefault).join('\n'));
    // A rule name that is the same for every container.
    const sameName = await parseBicep(source.replace("name: 'delete-claim-checks-${container}'", "name: 'delete-claim-checks'"));
    assert.ok(lifecycleProblems(sameName).some((p) => /rule names repeat/.test(p)), lifecycleProblems(sameName).join('\n'));
  });
});
