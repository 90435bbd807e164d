/**
 * Where the drain's services are, as seen from the process under test:
 *
 *   loopback  straight to Dovecot and Azurite on this machine
 *   cloud     through latency proxies: 20 ms round trip to IMAP (a function in
 *             West Europe to outlook.office365.com) and 5 ms to Storage (same
 *             region), on every connection, both Azurite services included
 *
 * The proxies are test/support/tcpFaults.ts, below TLS (TLS stays end to end),
 * with its per-chunk delay: each direction waits half the round trip. They add
 * latency, not a bandwidth limit.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { startAzurite } from '../../local/azurite.js';
import { startTcpFaultProxy, targetOf } from '../../test/support/tcpFaults.js';

export const PROFILES = {
  loopback: { imapRttMs: 0, storageRttMs: 0 },
  cloud: { imapRttMs: 20, storageRttMs: 5 },
} as const;
export type ProfileName = keyof typeof PROFILES;

export interface Route {
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * A timer fires up to a millisecond late (libuv keeps time in whole ms), so each
 * direction is held this much less than half the round trip; the stages measure
 * the round trip they get, and the report shows it.
 */
const TIMER_LATENESS_MS = 1;

/** A way to `target` with `rttMs` added: the target itself when 0. */
export async function route(target: { host: string; port: number }, rttMs: number): Promise<Route> {
  if (rttMs === 0) return { ...target, close: async () => {} };
  const proxy = await startTcpFaultProxy({ target });
  proxy.delay(Math.max(0, rttMs / 2 - TIMER_LATENESS_MS));
  return { host: proxy.host, port: proxy.port, close: () => proxy.close() };
}

export interface BenchStorage {
  /** The connection string the process under test uses: through the profile's proxies. */
  connectionString: string;
  queue: string;
  container: string;
  stop(): Promise<void>;
}

/**
 * A fresh Azurite for one measured run, with what infra/ deploys (the queue,
 * its poison queue, the container): in memory, so each run starts empty and
 * the last run's 500 MB of blobs are gone with its process.
 */
export async function startBenchStorage(profile: ProfileName, names = { queue: 'inbound-mail', container: 'inbound-mail' }): Promise<BenchStorage> {
  const azurite = await startAzurite();
  const routes: Route[] = [];
  try {
    const queues = QueueServiceClient.fromConnectionString(azurite.connectionString);
    for (const name of [names.queue, `${names.queue}-poison`]) await queues.getQueueClient(name).createIfNotExists();
    await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(names.container).createIfNotExists();
    let connectionString = azurite.connectionString;
    for (const endpoint of [azurite.blobEndpoint, azurite.queueEndpoint]) {
      const via = await route(targetOf(endpoint), PROFILES[profile].storageRttMs);
      routes.push(via);
      const url = new URL(endpoint);
      url.hostname = via.host;
      url.port = String(via.port);
      connectionString = connectionString.replace(endpoint, url.toString().replace(/\/$/, ''));
    }
    return {
      connectionString,
      ...names,
      async stop() {
        for (const r of routes) await r.close();
        await azurite.stop();
      },
    };
  } catch (error) {
    for (const r of routes) await r.close();
    await azurite.stop();
    throw error;
  }
}
