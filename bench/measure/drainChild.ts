/**
 * One drain in its own process, for the benchmark: prints the report's counts,
 * the wall time of the drain and the process's peak memory as one JSON line.
 */
import { drain } from '../shared/drain/drain.js';
import { createLogger } from '../shared/errors/logger.js';
import { loadSettings } from '../shared/config/loadSettings.js';

const settings = loadSettings();
const quiet = { debug() {}, info() {}, warn: (l: string) => console.error(l), error: (l: string) => console.error(l) };
const started = performance.now();
const report = await drain(settings, createLogger(quiet, 'warn'));
const ms = performance.now() - started;
console.log(
  JSON.stringify({
    handedOff: report.handedOff.length,
    quarantined: report.quarantined.length,
    failed: report.failed.length,
    ms,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  }),
);
