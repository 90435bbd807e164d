/**
 * Runs a TypeScript entry point with the local CA trusted (NODE_EXTRA_CA_CERTS
 * is read only at process start, so the CA must exist before that process).
 *
 *   tsx scripts/with-local-ca.ts FILE [args...]
 */
import { spawnSync } from 'node:child_process';
import { loadOrCreateLocalCa } from '../local/ca.js';

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error('usage: tsx scripts/with-local-ca.ts FILE [args...]');
  process.exit(64);
}
const ca = loadOrCreateLocalCa();
const result = spawnSync(process.execPath, ['--import', 'tsx', file, ...args], {
  stdio: 'inherit',
  env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.certPath },
});
process.exit(result.status ?? 1);
