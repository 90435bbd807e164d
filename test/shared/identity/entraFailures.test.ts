/**
 * Entra ID's failures, each produced by the fake token service speaking
 * Entra's wire protocol and seen through the real @azure/identity, mapped to a
 * stable code and an operator's remedy. Nothing is settled in any of them.
 */
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { drain } from '../../../shared/drain/drain.js';
import { IMAP_ROLE } from '../../../local/stack.js';
import { expectDrainError } from '../../support/assertions.js';
import { capturingLogger, useTestStack, type SeededDemo, type TestStack } from '../../support/localStack.js';

let stack: TestStack;
let seeded: SeededDemo;
useTestStack((s, d) => {
  stack = s;
  seeded = d;
});
beforeEach(async () => {
  stack.entra.addApp({ clientId: stack.clientId, secret: stack.clientSecret, roles: [IMAP_ROLE] });
  stack.entra.knownResources = undefined;
  await stack.reseed(seeded.messages.slice(0, 1));
});

async function failsWith(code: string, overrides: Record<string, string> = {}) {
  const error = await expectDrainError(drain(stack.settingsWith(overrides), capturingLogger().logger), code);
  assert.equal(stack.imap.messages('INBOX').length, 1, 'nothing settled');
  assert.equal((await stack.drainQueue()).length, 0, 'nothing handed off');
  return error;
}

test('AADSTS7000222, an expired client secret', async () => {
  stack.entra.addApp({ clientId: stack.clientId, secret: stack.clientSecret, secretExpired: true, roles: [IMAP_ROLE] });
  const error = await failsWith('ENTRA_SECRET_EXPIRED');
  assert.match(error.message, /AADSTS7000222/);
  assert.match(error.remedy, new RegExp(`az ad app credential reset --id ${stack.clientId} --append`));
});

test('AADSTS700016, an application that is not in the tenant', async () => {
  const clientId = randomUUID();
  const error = await failsWith('ENTRA_APP_NOT_FOUND', { CLIENT_ID: clientId });
  assert.match(error.message, new RegExp(`client ID ${clientId}.*AADSTS700016`));
  assert.match(error.remedy, /Check CLIENT_ID .* and TENANT_ID/);
});

test('AADSTS90002, a tenant that does not exist', async () => {
  const error = await failsWith('ENTRA_TENANT_NOT_FOUND', { TENANT_ID: randomUUID() });
  assert.match(error.remedy, /Set TENANT_ID to the Directory \(tenant\) ID/);
});

test('AADSTS65001, no consent for the app in this tenant', async () => {
  stack.entra.addApp({ clientId: stack.clientId, secret: stack.clientSecret, roles: [IMAP_ROLE], consented: false });
  const error = await failsWith('ENTRA_CONSENT_MISSING');
  assert.match(error.remedy, /IMAP\.AccessAsApp, then "Grant admin consent"/);
});

test('AADSTS500011, a tenant without Exchange Online', async () => {
  stack.entra.knownResources = new Set(['https://graph.microsoft.com']);
  const error = await failsWith('ENTRA_RESOURCE_NOT_FOUND');
  assert.match(error.remedy, /az ad sp show --id 00000002-0000-0ff1-ce00-000000000000/);
});

test('the token endpoint failing for a while (503) is retried by the SDK; failing for good is explained', async () => {
  stack.entra.failNext(503, undefined, 1);
  const report = await drain(stack.settingsWith(), capturingLogger().logger);
  assert.equal(report.handedOff.length, 1, 'one 503 is retried');
  await stack.drainQueue();
  await stack.reseed(seeded.messages.slice(0, 1));
  // A new drain: its own credential, no token cached.
  stack.entra.failNext(503, undefined, 20);
  try {
    const error = await failsWith('ENTRA_UNAVAILABLE');
    assert.match(error.message, /Could not get a token: Entra ID is throttling or temporarily unavailable/);
    assert.match(error.remedy, /the next run tries again/);
  } finally {
    stack.entra.failNext(200, undefined, 0);
  }
});
