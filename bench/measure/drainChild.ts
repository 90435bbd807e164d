/**
 * The drain under test, in its own process: the product's drain() with its
 * settings from the environment, as the function app runs it. Prints the
 * report's counts, the wall time and the process's peak memory as one JSON line.
 */
import { drain } from '../../shared/drain/drain.js';
import { createLogger } from '../../shared/errors/logger.js';
import { loadSettings } from '../../shared/config/loadSettings.js';
import { finish } from './childIo.js';

const settings = loadSettings();
const quiet = { debug() {}, info() {}, warn: (l: string) => console.error(l), error: (l: string) => console.error(l) };
const started = performance.now();
const report = await drain(settings, createLogger(quiet, 'warn'));
finish(started, {
  messages: report.handedOff.length,
  found: report.found,
  quarantined: report.quarantined.length,
  failed: report.failed.length,
  stoppedBecause: report.stoppedBecause ?? null,
});
