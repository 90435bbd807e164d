/**
 * A streamed hand-off in a process of its own, for measuring its memory: the
 * real handOffStreamed and Outbox against Azurite, fed a generated message
 * (streamOf: a body of control characters, then attachments) that is never in
 * memory whole. Run with --expose-gc; prints one JSON line of figures.
 *
 * Run as a script, this file is that process. Imported, it starts one.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

export interface MemoryFigures {
  outcome: string;
  sizeBytes: number;
  textBlobBytes: number | null;
  attachments: number;
  baselineRssMiB: number;
  peakRssMiB: number;
  baselineHeapMiB: number;
  peakHeapMiB: number;
  peakExternalMiB: number;
  seconds: number;
}

export function measureStreamedHandOff(env: { connectionString: string; queueName: string; containerName: string; totalBytes: number; bodyBytes: number; collect?: boolean }): Promise<MemoryFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', SELF], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '',
        MEASURE_STORAGE: env.connectionString,
        MEASURE_QUEUE: env.queueName,
        MEASURE_CONTAINER: env.containerName,
        MEASURE_TOTAL: String(env.totalBytes),
        MEASURE_BODY: String(env.bodyBytes),
        MEASURE_GC: env.collect ? '1' : '0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`the measuring process exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as MemoryFigures);
    });
  });
}

async function main(): Promise<void> {
  const { Outbox } = await import('../../shared/outbox/outbox.js');
  const { handOffStreamed } = await import('../../shared/drain/handOffStreamed.js');
  const { streamOf } = await import('./largeMail.js');
  const env = process.env;
  const totalBytes = Number(env.MEASURE_TOTAL);
  const outbox = Outbox.open({ kind: 'connectionString', connectionString: env.MEASURE_STORAGE! }, { queueName: env.MEASURE_QUEUE!, containerName: env.MEASURE_CONTAINER! }, () => {
    throw new Error('a connection string needs no credential');
  });
  const mib = (n: number) => Math.round((n / (1024 * 1024)) * 10) / 10;
  // Everything loaded and warmed up before the baseline: a first Storage call.
  await outbox.putBlob('messages/measure/warm-up', Buffer.from('warm'), 'text/plain');
  globalThis.gc?.();
  const base = process.memoryUsage();
  let peak = { rss: base.rss, heap: base.heapUsed, external: base.external + base.arrayBuffers };
  // MEASURE_GC: collect before every sample, to tell live memory from garbage not yet collected.
  const collect = env.MEASURE_GC === '1';
  const sample = () => {
    if (collect) globalThis.gc?.();
    const m = process.memoryUsage();
    peak = { rss: Math.max(peak.rss, m.rss), heap: Math.max(peak.heap, m.heapUsed), external: Math.max(peak.external, m.external + m.arrayBuffers) };
  };
  const timer = setInterval(sample, collect ? 100 : 10);
  const started = Date.now();
  const ref = { mailbox: 'measure@contoso.example', folder: 'INBOX', uidValidity: 1, failedFolder: 'Failed' };
  const result = await handOffStreamed({ uid: 1, size: totalBytes }, ref, outbox, { previous: 0, max: 5 }, undefined, (sink) =>
    sink(streamOf(totalBytes, Number(env.MEASURE_BODY)), { internalDate: new Date() }),
  );
  clearInterval(timer);
  sample();
  const message = result.outcome === 'handedOff' ? result.message : undefined;
  const figures: MemoryFigures = {
    outcome: result.outcome === 'failed' ? `failed: ${String(result.error)}` : result.outcome,
    sizeBytes: message?.raw.size ?? 0,
    textBlobBytes: message?.textBlob?.size ?? null,
    attachments: message?.attachments.length ?? 0,
    baselineRssMiB: mib(base.rss),
    peakRssMiB: mib(peak.rss),
    baselineHeapMiB: mib(base.heapUsed),
    peakHeapMiB: mib(peak.heap),
    peakExternalMiB: mib(peak.external),
    seconds: (Date.now() - started) / 1000,
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

if (process.argv[1] === SELF) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
