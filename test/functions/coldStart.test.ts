/**
 * A cold instance imports the function module to index it; the drain and its
 * SDKs wait for the first run (functions/drainMailbox.ts). This keeps it so,
 * without timing anything: it lists what importing the module loads.
 *
 * The list comes from V8 itself, not from a module loader: a fresh process
 * enables the inspector's Debugger domain, which reports every script V8
 * compiles (Debugger.scriptParsed) with its URL, whichever loader brought it in:
 * ESM or CommonJS, tsx-transformed sources, packages required by packages.
 * process.moduleLoadList and require.cache each see only part of that, and a
 * resolve hook misses what CommonJS packages require among themselves.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url);

/** Registration needs these: the Functions library, the settings schema, the redacting logger. */
const REGISTRATION_PACKAGES = ['@azure/functions', 'zod', '@azure/logger'];
/** Every other production dependency is the drain's, and waits for the first run. */
const DRAIN_PACKAGES = Object.keys((JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { dependencies: Record<string, string> }).dependencies).filter(
  (name) => !REGISTRATION_PACKAGES.includes(name),
);
/** The layers under the drain (STYLE.md): the drain loop, identity, mailbox, outbox and metrics. */
const DRAIN_LAYERS = ['shared/drain/', 'shared/identity/', 'shared/mailbox/', 'shared/outbox/', 'shared/metrics/'];

const PROBE = `
import { Session } from 'node:inspector';
const session = new Session();
session.connect();
const urls = [];
session.on('Debugger.scriptParsed', ({ params }) => urls.push(params.url));
session.post('Debugger.enable');
await import(process.argv[1]);
session.disconnect();
console.log(JSON.stringify(urls));
`;

/** The packages and project files (relative to the repository) that importing `path` loads in a fresh process. */
function loadedBy(path: string): { packages: Set<string>; files: string[] } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', PROBE, new URL(path, root).href], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `importing ${path} failed:\n${result.stderr}`);
  const urls = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as string[];
  const packages = new Set(urls.flatMap((url) => [...url.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((m) => m[1]!)));
  const files = urls
    .map((url) => (url.startsWith('/') ? `file://${url}` : url).split('?')[0]!)
    .filter((url) => url.startsWith(root.href) && !url.includes('/node_modules/'))
    .map((url) => url.slice(root.href.length));
  return { packages, files };
}

test('importing the function module loads neither the drain nor its SDKs: the first run does', () => {
  const { packages, files } = loadedBy('functions/drainMailbox.ts');
  assert.ok(packages.has('@azure/functions'), `the probe saw the registration itself: ${[...packages].join(', ')}`);
  assert.deepEqual(
    DRAIN_PACKAGES.filter((name) => packages.has(name)),
    [],
    'packages only the drain needs, loaded at registration (import them inside the handler)',
  );
  assert.deepEqual(
    files.filter((file) => DRAIN_LAYERS.some((layer) => file.startsWith(layer))),
    [],
    'modules of the drain, loaded at registration (import them inside the handler)',
  );
});

// Without this, a probe that saw nothing, or a dependency list gone stale, would pass the test above.
test('the drain loads every one of those packages and layers, so the probe sees them when they load', () => {
  // The OpenTelemetry SDK and exporters wait further: for the first run with metrics on (shared/metrics/runMetrics.ts).
  const [drain, metrics] = [loadedBy('shared/drain/drain.ts'), loadedBy('shared/metrics/meterProvider.ts')];
  const packages = new Set([...drain.packages, ...metrics.packages]);
  const files = [...drain.files, ...metrics.files];
  assert.deepEqual(DRAIN_PACKAGES.filter((name) => !packages.has(name)), [], 'production dependencies the drain does not load: registration may import them');
  assert.deepEqual(DRAIN_LAYERS.filter((layer) => !files.some((file) => file.startsWith(layer))), []);
});
