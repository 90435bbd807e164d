/**
 * Azurite, the Storage emulator Microsoft ships on npm, as child processes:
 * blob, queue and table services in memory on free loopback ports (the table
 * service for the sample consumer's deduplication, examples/consumer/).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { once } from 'node:events';

const require = createRequire(import.meta.url);

/** Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface LocalAzurite {
  connectionString: string;
  blobEndpoint: string;
  queueEndpoint: string;
  tableEndpoint: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function waitForPort(port: number, child: ChildProcess, output: () => string, scheme = 'http'): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Azurite exited with code ${child.exitCode}:\n${output()}`);
    const ok = await fetch(`${scheme}://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Azurite did not listen on port ${port} within 30 s:\n${output()}`);
}

export interface AzuriteOptions {
  /**
   * Serve HTTPS with this certificate (for 127.0.0.1) and accept OAuth bearer
   * tokens (`--oauth basic`: audience and issuer checked, signature not), as
   * Storage does for an identity. Shared key still works.
   */
  tls?: { key: string; cert: string };
}

/** Starts Azurite (blob, queue, table) in memory; `stop()` ends it. */
export async function startAzurite(options: AzuriteOptions = {}): Promise<LocalAzurite> {
  const [blobPort, queuePort, tablePort] = [await freePort(), await freePort(), await freePort()];
  const packageDir = dirname(require.resolve('azurite/package.json'));
  let output = '';
  const tlsDir = options.tls && mkdtempSync(join(tmpdir(), 'azurite-tls-'));
  const tlsArgs: string[] = [];
  if (tlsDir && options.tls) {
    writeFileSync(join(tlsDir, 'cert.pem'), options.tls.cert);
    writeFileSync(join(tlsDir, 'key.pem'), options.tls.key, { mode: 0o600 });
    tlsArgs.push('--cert', join(tlsDir, 'cert.pem'), '--key', join(tlsDir, 'key.pem'), '--oauth', 'basic');
  }
  const scheme = options.tls ? 'https' : 'http';
  const service = (name: 'blob' | 'queue' | 'table', port: number) =>
    spawn(
      process.execPath,
      [
        join(packageDir, `dist/src/${name}/main.js`),
        ...[`--${name}Host`, '127.0.0.1', `--${name}Port`, String(port)],
        '--inMemoryPersistence',
        '--skipApiVersionCheck',
        '--disableProductStyleUrl',
        ...tlsArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  const child = service('blob', blobPort);
  const queue = service('queue', queuePort);
  const table = service('table', tablePort);
  const children = [child, queue, table];
  for (const c of children) {
    c.stdout!.on('data', (d) => (output += d));
    c.stderr!.on('data', (d) => (output += d));
  }
  await Promise.all([
    waitForPort(blobPort, child, () => output, scheme),
    waitForPort(queuePort, queue, () => output, scheme),
    waitForPort(tablePort, table, () => output, scheme),
  ]);

  const blobEndpoint = `${scheme}://127.0.0.1:${blobPort}/${AZURITE_ACCOUNT}`;
  const queueEndpoint = `${scheme}://127.0.0.1:${queuePort}/${AZURITE_ACCOUNT}`;
  const tableEndpoint = `${scheme}://127.0.0.1:${tablePort}/${AZURITE_ACCOUNT}`;
  return {
    blobEndpoint,
    queueEndpoint,
    tableEndpoint,
    connectionString:
      `DefaultEndpointsProtocol=${scheme};AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=${blobEndpoint};QueueEndpoint=${queueEndpoint};TableEndpoint=${tableEndpoint};`,
    async stop() {
      for (const c of children) {
        if (c.exitCode === null) {
          c.kill();
          await once(c, 'exit');
        }
      }
      if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
    },
  };
}
