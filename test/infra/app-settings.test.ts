/**
 * The function app receives exactly the settings the code declares
 * (shared/config/settingsSchema.ts, imported at test time, so that a new setting fails here
 * until the Bicep deploys it), but for the host's own settings it documents (hostSetting),
 * plus the Functions host's own settings listed below; where the code has a default,
 * the deployment's is the same.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { declaredSettings } from '../../shared/config/declaredSettings.js';
import { parseMailboxList } from '../../shared/config/mailboxList.js';
import { line } from './support/bicep.js';
import { appSettingProblems, deployedDefault, findAppSettings, moduleParams } from './support/checks.js';
import { loadTemplates } from './support/infra.js';

/**
 * Settings the Functions host and platform read and the code does not. These,
 * and nothing else, may be deployed beyond shared/config/settingsSchema.ts.
 */
const HOST_SETTINGS: ReadonlySet<string> = new Set([
  // Host storage (locks, timer schedule monitors), identity-based; blobs only for a timer app:
  'AzureWebJobsStorage__credential', // "managedidentity"
  'AzureWebJobsStorage__clientId', // the user-assigned identity
  'AzureWebJobsStorage__blobServiceUri',
  // host.json's Function log level, from the same parameter as LOG_LEVEL:
  'AzureFunctionsJobHost__logging__logLevel__Function',
  // (APPLICATIONINSIGHTS_CONNECTION_STRING and _AUTHENTICATION_STRING are the host's telemetry too, but
  // the metrics read them, so settingsSchema.ts declares them.)
]);

/**
 * Settings Flex Consumption rejects or ignores, because functionAppConfig says
 * them (runtime, deployment storage) or because it has no content share; and
 * AzureWebJobsStorage itself, which would be a connection string with a key.
 */
const NOT_ON_FLEX = [
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_EXTENSION_VERSION',
  'FUNCTIONS_WORKER_RUNTIME_VERSION',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_CONTENTSHARE',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
  'SCM_DO_BUILD_DURING_DEPLOYMENT',
  'ENABLE_ORYX_BUILD',
  'AzureWebJobsStorage',
];

/** What the template must deploy: every declared setting but the host's own, which it leaves to host.json. */
const DEPLOYED = declaredSettings.filter((s) => !s.hostSetting);

const templates = await loadTemplates();
const appSettings = findAppSettings(templates);

describe('function app settings', () => {
  test('a Microsoft.Web/sites/config "appsettings" resource lists them as an object literal', () => {
    assert.ok(appSettings);
  });

  test('the deployed settings are exactly those of shared/config/settingsSchema.ts plus the listed host settings', () => {
    assert.deepEqual(appSettingProblems(appSettings!, DEPLOYED.map((s) => s.name), HOST_SETTINGS), []);
  });

  test('every listed host setting is deployed', () => {
    const deployed = appSettings!.properties.map((p) => p.key);
    assert.deepEqual([...HOST_SETTINGS].filter((name) => !deployed.includes(name)), []);
  });

  test('no setting that Flex Consumption rejects, nor a storage connection string', () => {
    assert.deepEqual(appSettings!.properties.map((p) => p.key).filter((k) => NOT_ON_FLEX.includes(k!)), []);
  });

  test('storage and telemetry connections are identity-based', () => {
    const text = (key: string) => {
      const value = appSettings!.properties.find((p) => p.key === key)?.value;
      return value?.kind === 'string' ? value.value : value?.node.text;
    };
    assert.equal(text('AzureWebJobsStorage__credential'), 'managedidentity');
    assert.equal(text('OUTPUT_STORAGE__credential'), 'managedidentity');
    assert.equal(text('OUTPUT_STORAGE'), '', 'OUTPUT_STORAGE (a connection string) stays empty');
    assert.equal(text('AzureWebJobsStorage__clientId'), text('AZURE_CLIENT_ID'));
    assert.equal(text('OUTPUT_STORAGE__clientId'), text('AZURE_CLIENT_ID'));
    assert.match(text('APPLICATIONINSIGHTS_AUTHENTICATION_STRING') ?? '', /^'ClientId=\$\{\w+\};Authorization=AAD'$/);
  });

  test('MAILBOXES is the mailboxes parameter as JSON objects, MAILBOX the one mailbox of the older form; exactly one of the two is given', () => {
    const setting = (key: string) => appSettings!.properties.find((p) => p.key === key)?.value.node.text;
    assert.equal(setting('MAILBOX'), 'mailbox');
    // Empty is unset (shared/config/parseSettings.ts): the app refuses MAILBOX and MAILBOXES both set.
    assert.equal(setting('MAILBOXES'), "empty(mailboxes) ? '' : string(mailboxes)");
    const main = templates.get('main.bicep')!;
    const passed = (key: string) => moduleParams(main.modules.find((m) => m.path === 'modules/function-app.bicep')!).find((p) => p.key === key)?.value.node.text;
    assert.equal(passed('mailbox'), 'mailbox');
    assert.equal(passed('mailboxes'), 'empty(mailboxes) ? [] : mailboxEntries');
    for (const name of ['mailbox', 'mailboxes']) assert.ok(main.params.find((p) => p.name === name)?.defaultValue, `main.bicep: ${name} is required`);
    const entries = main.vars.find((v) => v.name === 'mailboxEntries')?.value.node.text ?? '';
    assert.match(entries, /^empty\(mailboxes\) == empty\(mailbox\) \? fail\(/, 'neither or both of mailbox and mailboxes is not refused');
    // MAILBOXES's JSON form takes objects only, so an address alone becomes { mailbox: <address> }.
    assert.match(entries, /m => startsWith\(string\(m\), '\{'\) \? m : \{ mailbox: m \}/);
    assert.deepEqual(parseMailboxList(JSON.stringify([{ mailbox: 'invoices@contoso.com' }, { mailbox: 'orders@contoso.com', outputQueue: 'orders' }])).problems, []);
    assert.notDeepEqual(parseMailboxList(JSON.stringify(['invoices@contoso.com'])).problems, []);
  });

  test("where the code has a default, the deployment's default is the same", () => {
    const problems: string[] = [];
    let compared = 0;
    for (const spec of DEPLOYED) {
      const property = appSettings!.properties.find((p) => p.key === spec.name);
      if (spec.default === undefined || !property) continue;
      const value = deployedDefault(property.value, appSettings!.file, templates);
      if (value === undefined) continue;
      compared++;
      if (String(value) !== spec.default) {
        problems.push(`${spec.name}: the code defaults to "${spec.default}", the deployment to "${value}" (infra/${appSettings!.file}:${line(property.node)})`);
      }
    }
    assert.ok(compared >= 5, `only ${compared} defaults could be followed to a literal`);
    assert.deepEqual(problems, []);
  });
});
