/** Entra ID's answers, recognised by AADSTS number wherever @azure/identity put it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aadstsCodes } from '../../../shared/errors/aadstsCodes.js';
import { explainTokenError } from '../../../shared/errors/explainTokenError.js';

const facts = { tenantId: 'tenant', clientId: 'app', vault: 'kv', credentialType: 'secret' as const, credentialName: 'mail-drain-client-secret' };

test('aadstsCodes finds the numbers in messages, error_codes and causes', () => {
  assert.deepEqual(aadstsCodes(new Error('AADSTS7000215: Invalid client secret provided.')), [7000215]);
  assert.deepEqual(aadstsCodes({ errorResponse: { error_codes: [65001] } }), [65001]);
  assert.deepEqual(aadstsCodes({ cause: { errorMessage: 'AADSTS700016: app not found' } }), [700016]);
  assert.deepEqual(aadstsCodes({ errors: [{ message: 'AADSTS90002' }, { message: 'AADSTS90033' }] }).sort(), [90002, 90033]);
  assert.deepEqual(aadstsCodes(new Error('no code here')), []);
});

test('each AADSTS number gets its code, and the remedy its commands', () => {
  const cases: [string, string][] = [
    ['AADSTS7000215', 'ENTRA_SECRET_INVALID'],
    ['AADSTS7000222', 'ENTRA_SECRET_EXPIRED'],
    ['AADSTS700016', 'ENTRA_APP_NOT_FOUND'],
    ['AADSTS90002', 'ENTRA_TENANT_NOT_FOUND'],
    ['AADSTS65001', 'ENTRA_CONSENT_MISSING'],
    ['AADSTS500011', 'ENTRA_RESOURCE_NOT_FOUND'],
    ['AADSTS700027', 'ENTRA_ASSERTION_INVALID'],
    ['AADSTS90033', 'ENTRA_UNAVAILABLE'],
    ['AADSTS9002313', 'ENTRA_TOKEN_FAILED'],
  ];
  for (const [said, code] of cases) assert.equal(explainTokenError(new Error(`${said}: whatever Microsoft says today`), facts).code, code, said);
  const invalid = explainTokenError(new Error('AADSTS7000215'), facts);
  assert.match(invalid.remedy, /az keyvault secret set --vault-name kv --name mail-drain-client-secret --value '<secret value>' --expires <its expiry>/);
  assert.match(explainTokenError(new Error('AADSTS7000222'), facts).remedy, /az ad app credential reset --id app --append/);
});

test('Entra throttling or down passes by itself; endpoints_resolution_error is the tenant', () => {
  const busy = explainTokenError(Object.assign(new Error('Service unavailable'), { statusCode: 503 }), facts);
  assert.equal(busy.code, 'ENTRA_UNAVAILABLE');
  assert.equal(busy.passes, true);
  assert.equal(explainTokenError(new Error('endpoints_resolution_error: could not resolve endpoints'), facts).code, 'ENTRA_TENANT_NOT_FOUND');
});
