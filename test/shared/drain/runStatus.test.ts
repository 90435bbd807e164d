/**
 * The status a drain writes as it ends (shared/drain/runStatus.ts), on the
 * local stack: written while the drain still holds the mailbox lease, so that
 * a later drain's status can never be overwritten by an earlier one's.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { drain, isComplete } from '../../../shared/drain/drain.js';
import { capturingLogger, useTestStack, type SeededDemo, type TestStack } from '../../support/localStack.js';
import { startTcpFaultProxy, targetOf, type TcpFaultProxy } from '../../support/tcpFaults.js';

let stack: TestStack;
let seeded: SeededDemo;
useTestStack((s, d) => {
  stack = s;
  seeded = d;
});
let blobWire: TcpFaultProxy | undefined;
after(() => blobWire?.close());

test('the status is written while the drain still holds the lease (a status written after the release could land over the next drain\'s)', async () => {
  await stack.reseed(seeded.messages.slice(0, 2));
  blobWire = await startTcpFaultProxy({ target: targetOf(stack.azurite.blobEndpoint) });
  const container = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient(stack.containerName);
  const lock = container.getBlobClient(`locks/${createHash('sha256').update(`${stack.mailbox.toLowerCase()}\nINBOX`).digest('hex')}.json`);
  let leaseWhileWriting: Promise<string | undefined> | undefined;
  // The status upload is held for a moment at the wire, and the lock blob's lease looked at meanwhile.
  const handle = blobWire.addRule({
    direction: 'toServer',
    pattern: `PUT /devstoreaccount1/${stack.containerName}/status/`,
    action: { stallMs: 1_000 },
    onFire: () => (leaseWhileWriting = lock.getProperties().then((p) => p.leaseState)),
  });
  try {
    const report = await drain(
      stack.settingsWith({ OUTPUT_STORAGE: stack.azurite.connectionString.replace(stack.azurite.blobEndpoint, blobWire.endpointFor(stack.azurite.blobEndpoint)) }),
      capturingLogger().logger,
    );
    assert.ok(isComplete(report));
  } finally {
    handle.remove();
  }
  assert.equal(handle.fired, 1, 'the status was written once');
  assert.equal(await leaseWhileWriting, 'leased', 'the lease was still held while the status was written');
  assert.equal((await lock.getProperties()).leaseState, 'available', 'and released after');
  await stack.drainQueue();
});
