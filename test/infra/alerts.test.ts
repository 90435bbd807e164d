/**
 * The alert rules of infra/modules/alerts.bicep, checked offline (their types by
 * templates.test.ts): each rule of the issue is there with a description that
 * says what to do; every query reads only AppMetrics, and there only the metric
 * names and dimensions the code emits (shared/metrics/metricNames.ts); the
 * failures rule's codes are exactly those whose remedy needs a person; the
 * heartbeat starts from the deployed mailboxes, so one that never ran alerts too.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { declaredSettings } from '../../shared/config/declaredSettings.js';
import { REMEDIES } from '../../shared/errors/remedies.js';
import { OPERATE_REMEDIES } from '../../shared/errors/remedies/operateRemedies.js';
import { DIMENSIONS, METRICS } from '../../shared/metrics/metricNames.js';
import { literalAt, propertyAt, type Value } from './support/bicep.js';
import { moduleParams } from './support/checks.js';
import { loadTemplates } from './support/infra.js';

const templates = await loadTemplates();
const alerts = templates.get('modules/alerts.bicep')!;
const main = templates.get('main.bicep')!;
const varOf = (name: string): Value => {
  const found = alerts.vars.find((v) => v.name === name);
  assert.ok(found, `alerts.bicep declares var ${name}`);
  return found.value;
};

const queries = varOf('queries');
const QUERIES: Record<string, string> = Object.fromEntries(
  (queries.kind === 'object' ? queries.properties : []).map((p) => [p.key!, p.value.kind === 'string' ? p.value.value : '']),
);
const rulesValue = varOf('rules');
const RULES = (rulesValue.kind === 'array' ? rulesValue.items : []).map((rule) => ({
  name: literalAt(rule, 'name') as string,
  description: propertyAt(rule, 'description')!.node.text,
  query: propertyAt(rule, 'query')!.node.text,
  measure: literalAt(rule, 'measure') as string,
  dimensions: propertyAt(rule, 'dimensions')!.node.text,
  frequency: literalAt(rule, 'frequency') as string,
  window: propertyAt(rule, 'window')!.node.text,
}));

/** The durations a log alert accepts as its window (windowSize) and its evaluation frequency, in minutes. */
const WINDOW_MINUTES: Record<string, number> = {
  PT1M: 1, PT5M: 5, PT10M: 10, PT15M: 15, PT30M: 30, PT45M: 45, PT1H: 60, PT2H: 120, PT3H: 180, PT4H: 240, PT5H: 300, PT6H: 360, P1D: 1440, P2D: 2880,
};

const METRIC_NAMES = new Set<string>(Object.values(METRICS).map((m) => m.name));
const DIMENSION_NAMES = new Set<string>(Object.values(DIMENSIONS));
/** The AppMetrics columns the queries may read (what Azure Monitor's exporter fills for a metric). */
const APPMETRICS_COLUMNS = new Set(['TimeGenerated', 'Name', 'Sum', 'Properties']);

/** Names a query binds with `let`, and the tables it reads: an identifier that starts a pipeline or is joined. */
function tablesRead(query: string): { lets: string[]; tables: string[] } {
  const lets = [...query.matchAll(/\blet\s+(\w+)\s*=/g)].map((m) => m[1]!);
  const starts = [...query.matchAll(/(?:^|;|=)\s*([A-Za-z_]\w*)\s*\n?\s*\|/g)].map((m) => m[1]!);
  const joined = [...query.matchAll(/\bjoin\b[^\n]*?\b(?:kind=\w+\s+)?(?:\(\s*)?([A-Za-z_]\w*)\s+on\b/g)].map((m) => m[1]!);
  return { lets, tables: [...new Set([...starts, ...joined])].filter((t) => !lets.includes(t)) };
}

describe('alerts (issue 12)', () => {
  test('one rule per alert of the issue, each a log alert with a description that says what to do', () => {
    assert.deepEqual(RULES.map((r) => r.name), ['heartbeat', 'quarantine', 'credential', 'backlog', 'failures']);
    for (const rule of RULES) {
      assert.ok(QUERIES[rule.name], `${rule.name} has its query in var queries`);
      assert.match(rule.query, new RegExp(`\\bqueries\\.${rule.name}\\b`), `${rule.name} runs its own query`);
      assert.ok(rule.description.length > 120, `${rule.name}: the description says what happened and what to do`);
      assert.match(rule.description, /\b([Rr]un `|Read|Create|[Cc]heck|[Ll]ook)\b/, `${rule.name}: the description names an action`);
    }
    const rules = alerts.resources.find((r) => r.type === 'Microsoft.Insights/scheduledQueryRules')!;
    assert.ok(rules.loop, 'one resource per rule');
    assert.equal(literalAt(rules.body, 'kind'), 'LogAlert');
    assert.match(propertyAt(rules.body, 'properties.scopes')!.node.text, /workspaceResourceId/);
  });

  test('every query reads AppMetrics only, and there only metric names and dimensions the code emits', () => {
    for (const [name, query] of Object.entries(QUERIES)) {
      const { tables } = tablesRead(query);
      assert.deepEqual(tables, ['AppMetrics'], `${name} reads ${tables.join(', ')}`);
      const metrics = [...query.matchAll(/Name == "([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(metrics.length > 0, `${name} names a metric`);
      for (const metric of metrics) assert.ok(METRIC_NAMES.has(metric), `${name}: ${metric} is not in shared/metrics/metricNames.ts`);
      for (const [, dimension] of query.matchAll(/Properties\.(\w+)/g)) assert.ok(DIMENSION_NAMES.has(dimension!), `${name}: dimension ${dimension} is not emitted`);
      // Any other capitalized identifier read is an AppMetrics column (KQL's own words are lower case).
      const columns = [...query.matchAll(/\b([A-Z]\w*)\b/g)].map((m) => m[1]!).filter((id) => id !== 'AppMetrics');
      for (const column of columns) assert.ok(APPMETRICS_COLUMNS.has(column), `${name}: ${column} is not an AppMetrics column we fill`);
    }
  });

  test("each rule's measure and split dimensions are columns its query returns", () => {
    for (const rule of RULES) {
      const query = QUERIES[rule.name]!;
      const last = query.trim().split('\n').at(-1)!;
      assert.match(last, new RegExp(`\\b${rule.measure}\\s*=`), `${rule.name}: the last line makes ${rule.measure}`);
      const dimensions = [...rule.dimensions.matchAll(/name: '(\w+)'/g)].map((m) => m[1]!);
      if (rule.dimensions.includes('splitByMailbox')) dimensions.push('mailbox', 'folder');
      for (const d of dimensions) assert.match(last, new RegExp(`\\b${d}\\b`), `${rule.name}: ${d} is a column of the result`);
    }
  });

  test('the failures rule lists exactly the codes whose remedy needs a person (shared/errors/remedies*)', () => {
    const list = varOf('codesNeedingAPerson');
    const codes = (list.kind === 'array' ? list.items : []).map((i) => (i.kind === 'string' ? i.value : i.node.text));
    // replay's and redrive's own codes never end a drain: they are not in the list.
    const needPerson = Object.entries(REMEDIES)
      .filter(([code, r]) => !r.passes && !(code in OPERATE_REMEDIES))
      .map(([code]) => code);
    assert.deepEqual([...codes].sort(), [...needPerson].sort());
    assert.ok(!codes.includes('IMAP_TOKEN_EXPIRED') && !codes.includes('IMAP_THROTTLED'), 'not the ones that pass by themselves');
    assert.match(QUERIES.failures!, /\{codes\}/);
    assert.match(RULES.find((r) => r.name === 'failures')!.query, /'\{codes\}', codesList/);
    assert.match(varOf('codesList').node.text, /codesNeedingAPerson/);
  });

  test('the heartbeat starts from the deployed, enabled mailboxes (left join), so a mailbox that never ran alerts', () => {
    const heartbeat = QUERIES.heartbeat!;
    assert.match(heartbeat, /^let deployed = \{deployed\};/);
    assert.match(heartbeat, /^deployed\n\| join kind=leftouter completed on mailbox, folder\n\| where isnull\(lastCompleted\)/m);
    assert.match(heartbeat, /tostring\(Properties\.outcome\) == "completed"/);
    assert.match(RULES.find((r) => r.name === 'heartbeat')!.query, /'\{deployed\}', deployedTable/);
    assert.match(varOf('deployedTable').node.text, /datatable\(mailbox: string, folder: string\)/);
    // Keyed as runMeasurements keys them: enabled ones only, lower-case address, INBOX in any case as INBOX.
    const deployed = varOf('deployed').node.text;
    assert.match(deployed, /filter\(withDefaults, m => m\.enabled\)/);
    assert.match(deployed, /toLower\(m\.mailbox\)/);
    assert.match(deployed, /toUpper\(m\.folder\) == 'INBOX' \? 'INBOX' : m\.folder/);
    assert.match(varOf('withDefaults').node.text, /union\(\{ folder: mailFolder, enabled: true \}, m\)/);
    const module = main.modules.find((m) => m.path === 'modules/alerts.bicep')!;
    const params = Object.fromEntries(moduleParams(module).map((p) => [p.key, p.value.node.text]));
    assert.equal(params.mailboxes, 'mailboxEntries', 'every mailbox main.bicep deploys');
    assert.equal(params.mailFolder, 'mailFolder');
    assert.equal(params.workspaceResourceId, 'monitoring.outputs.workspaceResourceId');
    assert.equal(params.credentialExpiryWarningDays, 'credentialExpiryWarningDays', 'the same days as CREDENTIAL_EXPIRY_WARNING_DAYS');
  });

  test('the heartbeat waits 3 x the default schedule by default', () => {
    const schedule = declaredSettings.find((s) => s.name === 'DRAIN_SCHEDULE')!.default!;
    const every = /^0 \*\/(\d+) \* \* \* \*$/.exec(schedule);
    assert.ok(every, `DRAIN_SCHEDULE's default ${schedule} runs every N minutes`);
    const mainDefault = main.params.find((p) => p.name === 'alertHeartbeatMinutes')?.defaultValue;
    const moduleDefault = alerts.params.find((p) => p.name === 'heartbeatMinutes')?.defaultValue;
    assert.equal(mainDefault?.kind === 'number' && mainDefault.value, 3 * Number(every[1]));
    assert.equal(moduleDefault?.kind === 'number' && moduleDefault.value, 3 * Number(every[1]));
    const drainSchedule = main.params.find((p) => p.name === 'drainSchedule')?.defaultValue;
    assert.equal(drainSchedule?.kind === 'string' && drainSchedule.value, schedule, 'the template schedules as the code does');
  });

  test('every window and frequency is a duration log alerts accept, and no window is shorter than its frequency', () => {
    // A window of 'PT20M' would fail the deployment: the heartbeat's minutes are rounded up to the next accepted window.
    const sizes = varOf('windowSizes');
    const table = (sizes.kind === 'array' ? sizes.items : []).map((i) => ({ minutes: literalAt(i, 'minutes') as number, duration: literalAt(i, 'duration') as string }));
    for (const { minutes, duration } of table) assert.equal(WINDOW_MINUTES[duration], minutes, `${duration} is an accepted window of ${minutes} minutes`);
    assert.deepEqual(table.map((t) => t.minutes), [...table.map((t) => t.minutes)].sort((a, b) => a - b), 'ascending, so the first that fits is the shortest');
    const heartbeat = alerts.params.find((p) => p.name === 'heartbeatMinutes')!;
    const bound = (name: string) => Number(heartbeat.decorators.find((d) => d.name === name)!.node.text.match(/\((\d+)\)/)![1]);
    assert.ok(table[0]!.minutes <= bound('minValue') && table.at(-1)!.minutes >= bound('maxValue'), 'every heartbeatMinutes allowed has a window');
    assert.match(varOf('heartbeatWindow').node.text, /first\(filter\(windowSizes, w => w\.minutes >= heartbeatMinutes\)\)\.duration/);
    assert.match(QUERIES.heartbeat!, /ago\(\{heartbeatMinutes\}m\)/, 'the query keeps to the minutes asked for inside the longer window');
    for (const rule of RULES) {
      const frequency = WINDOW_MINUTES[rule.frequency];
      assert.ok(frequency, `${rule.name}: frequency ${rule.frequency} is accepted`);
      if (rule.window === 'heartbeatWindow') {
        assert.ok(frequency <= table[0]!.minutes, `${rule.name}: its frequency fits the shortest window`);
        continue;
      }
      const window = WINDOW_MINUTES[rule.window.replace(/'/g, '')];
      assert.ok(window, `${rule.name}: window ${rule.window} is accepted`);
      assert.ok(window >= frequency, `${rule.name}: window ${rule.window} >= frequency ${rule.frequency}`);
    }
  });

  test('the action group mails the address and optionally calls the webhook, and exists only when one is given', () => {
    const group = alerts.resources.find((r) => r.type === 'Microsoft.Insights/actionGroups')!;
    assert.equal(group.condition?.text, '(notify)');
    assert.match(varOf('notify').node.text, /!empty\(alertEmail\) \|\| !empty\(alertWebhookUrl\)/);
    assert.match(propertyAt(group.body, 'properties.emailReceivers')!.node.text, /emailAddress: alertEmail/);
    assert.match(propertyAt(group.body, 'properties.webhookReceivers')!.node.text, /serviceUri: alertWebhookUrl/);
    const rules = alerts.resources.find((r) => r.type === 'Microsoft.Insights/scheduledQueryRules')!;
    assert.match(propertyAt(rules.body, 'properties.actions.actionGroups')!.node.text, /notify \? \[\s*actionGroup\.id\s*\] : \[\]/);
    assert.ok(main.params.find((p) => p.name === 'alertWebhookUrl')?.decorators.some((d) => d.name === 'secure'), 'a webhook URL may carry a token');
  });
});
