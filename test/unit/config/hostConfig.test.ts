/** The function timeout the drain budgets for: the app setting's override, else host.json's, else the plan's default. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_FUNCTION_TIMEOUT_MS, functionTimeoutMs } from '../../../shared/config/hostConfig.js';
import { functionTimeoutSetting } from '../../../shared/config/functionTimeoutSetting.js';
import { declaredSettings } from '../../../shared/config/declaredSettings.js';

const dir = mkdtempSync(join(tmpdir(), 'host-config-'));
let files = 0;
function hostJson(content: unknown): string {
  const file = join(dir, `host${files++}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}
const MINUTE = 60_000;

test("host.json's functionTimeout: hh:mm:ss, with days, or -1 for none", () => {
  assert.equal(functionTimeoutMs(hostJson({ version: '2.0', functionTimeout: '00:10:00' })), 10 * MINUTE);
  assert.equal(functionTimeoutMs(hostJson({ functionTimeout: '2:30:15' })), (150 * 60 + 15) * 1000);
  assert.equal(functionTimeoutMs(hostJson({ functionTimeout: '1.02:00:00' })), 26 * 60 * MINUTE);
  assert.equal(functionTimeoutMs(hostJson({ functionTimeout: '-1' })), undefined);
  assert.equal(functionTimeoutMs(hostJson({ functionTimeout: -1 })), undefined);
});

test("the plan's default, 30 minutes, when host.json says none or nothing the host reads", () => {
  assert.equal(DEFAULT_FUNCTION_TIMEOUT_MS, 30 * MINUTE);
  assert.equal(functionTimeoutMs(hostJson({ version: '2.0' })), DEFAULT_FUNCTION_TIMEOUT_MS);
  assert.equal(functionTimeoutMs(hostJson({ functionTimeout: 'ten minutes' })), DEFAULT_FUNCTION_TIMEOUT_MS);
  assert.equal(functionTimeoutMs(hostJson({ functionTimeout: '00:10' })), DEFAULT_FUNCTION_TIMEOUT_MS);
  assert.equal(functionTimeoutMs(hostJson('{ not json')), DEFAULT_FUNCTION_TIMEOUT_MS);
  assert.equal(functionTimeoutMs(join(dir, 'missing.json')), DEFAULT_FUNCTION_TIMEOUT_MS);
});

test('the app setting overrides host.json, -1 included', () => {
  const file = hostJson({ functionTimeout: '00:10:00' });
  assert.equal(functionTimeoutMs(file, '00:20:00'), 20 * MINUTE);
  assert.equal(functionTimeoutMs(file, '-1'), undefined);
  assert.equal(functionTimeoutMs(file, functionTimeoutSetting({ azurefunctionsjobhost__functiontimeout: '01:00:00' })), 60 * MINUTE);
  assert.equal(functionTimeoutMs(file, functionTimeoutSetting({})), 10 * MINUTE);
});

test("the repository's host.json bounds a run to ten minutes, as the README's settings table says", () => {
  const repoHostJson = new URL('../../../host.json', import.meta.url);
  assert.equal(functionTimeoutMs(repoHostJson), 10 * MINUTE);
  const override = declaredSettings.find((s) => s.name === 'AzureFunctionsJobHost__functionTimeout')!;
  assert.equal(override.whenUnset, '`host.json`: `00:10:00`');
  assert.match(override.meaning, /`host\.json`'s `00:10:00` holds/);
});
