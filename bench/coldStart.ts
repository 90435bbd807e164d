/**
 * What importing the function module costs a cold instance, before any work:
 * wall time, CPU time and memory of a fresh `node` importing the built module,
 * the way the Functions worker loads package.json's `main` at start-up.
 *
 *   npm run build && npx tsx bench/coldStart.ts [--module dist/functions/drainMailbox.js] [--runs 5]
 *
 * Each figure is the median of RUNS fresh processes, run one after another (the
 * machine is shared; parallel runs would measure each other). Wall and CPU count
 * the import alone, not Node's own start-up; RSS is the process's peak
 * (resourceUsage().maxRSS), Node's own included, since that is what counts
 * against the instance's memory. The breakdown imports each static import of the
 * module, each production dependency and the drain (loaded by the first
 * invocation) alone in the same way, so what costs most stands out; their costs
 * overlap (shared modules), so they do not add up to the module's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    module: { type: 'string', default: join(root, 'dist/functions/drainMailbox.js') },
    runs: { type: 'string', default: '5' },
  },
});
const modulePath = resolve(values.module);
const RUNS = Number(values.runs);
if (!existsSync(modulePath)) throw new Error(`${modulePath} does not exist: run npm run build first`);

interface Cost {
  wallMs: number;
  cpuMs: number;
  maxRssMiB: number;
}

/**
 * Runs in the child: imports the specifiers in order (none: Node alone) and
 * prints the cost as JSON. Bare specifiers resolve from the child's cwd, the
 * project root, as the project's own imports do.
 */
const PROBE = `
const specifiers = JSON.parse(process.argv[1]);
const cpu = process.cpuUsage();
const started = performance.now();
for (const specifier of specifiers) await import(specifier);
const wallMs = performance.now() - started;
const { user, system } = process.cpuUsage(cpu);
console.log(JSON.stringify({ wallMs, cpuMs: (user + system) / 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
`;

function importOnce(specifiers: string[]): Cost {
  const result = spawnSync(process.execPath, ['--input-type=module', '--eval', PROBE, JSON.stringify(specifiers)], {
    cwd: root,
    encoding: 'utf8',
    // The defaults the function registers with; the host's own variables are absent, so @azure/functions says it runs in test mode.
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  if (result.status !== 0) throw new Error(`importing ${specifiers.join(', ')} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Cost;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function measure(specifiers: string[]): Cost {
  const runs = Array.from({ length: RUNS }, () => importOnce(specifiers));
  return {
    wallMs: median(runs.map((r) => r.wallMs)),
    cpuMs: median(runs.map((r) => r.cpuMs)),
    maxRssMiB: median(runs.map((r) => r.maxRssMiB)),
  };
}

const url = (path: string) => pathToFileURL(path).href;
const row = (label: string, cost: Cost) =>
  `${label.padEnd(44)} ${cost.wallMs.toFixed(0).padStart(7)} ${cost.cpuMs.toFixed(0).padStart(7)} ${cost.maxRssMiB.toFixed(1).padStart(8)}`;
const header = `${''.padEnd(44)} ${'wall ms'.padStart(7)} ${'CPU ms'.padStart(7)} ${'RSS MiB'.padStart(8)}`;

/** The module's static imports (not `import()`, not `import type`), as written in the built file. */
function staticImports(path: string): string[] {
  const source = readFileSync(path, 'utf8');
  return [...source.matchAll(/^import\s+(?!type\b)(?:[^'"]*?\sfrom\s*)?['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}
const asSpecifier = (specifier: string) => (specifier.startsWith('.') ? url(resolve(dirname(modulePath), specifier)) : specifier);
const label = (specifier: string) => (specifier.startsWith('file:') ? relative(root, fileURLToPath(specifier)) : specifier);

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const drainModule = join(dirname(modulePath), '../shared/drain/drain.js');

console.log(`Cold start of ${relative(root, modulePath)}: medians of ${RUNS} fresh processes (Node ${process.version})\n`);
console.log(header);
const node = measure([]);
const whole = measure([url(modulePath)]);
console.log(row('node alone', node));
console.log(row(relative(root, modulePath), whole));
if (existsSync(drainModule)) {
  console.log(row('  + the drain (first invocation)', measure([url(modulePath), url(drainModule)])));
}

const breakdown = [
  ...staticImports(modulePath).map(asSpecifier),
  ...(existsSync(drainModule) ? [url(drainModule)] : []),
  ...Object.keys(pkg.dependencies),
].filter((specifier, i, all) => !specifier.startsWith('node:') && all.indexOf(specifier) === i);
const costs = breakdown.map((specifier) => ({ specifier, cost: measure([specifier]) }));
console.log(`\nEach alone (the module's static imports, the drain, every production dependency), by CPU:\n`);
console.log(header);
for (const { specifier, cost } of costs.sort((a, b) => b.cost.cpuMs - a.cost.cpuMs)) console.log(row(label(specifier), cost));
