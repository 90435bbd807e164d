/**
 * A fake Azure Key Vault (secrets, read side) for the real SecretClient.
 *
 * It speaks the vault's challenge protocol: a request without a bearer token gets
 *   401 WWW-Authenticate: Bearer authorization="{authorityHost}/{tenantId}", resource="https://localhost"
 * and the SDK comes back with a token for https://localhost/.default, which the fake Entra verifies.
 * The SDK accepts a challenge only when the vault's host ends with "." + the resource's host
 * (as *.vault.azure.net does with https://vault.azure.net), hence a vault at kv.localhost.
 *
 *   GET /secrets/{name}[/{version}]?api-version=...
 */
import { lookup } from 'node:dns/promises';
import { appendFileSync, readFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AccessTokenClaims, FakeEntra } from './entra.js';
import { startHttpFake, type FakeRequest, type JsonReply } from './httpFake.js';

export interface FakeSecret {
  value: string;
  contentType?: string;
  expiresOn?: Date;
  notBefore?: Date;
  /** Default true. */
  enabled?: boolean;
}

export interface FakeKeyVault {
  /** 'https://kv.localhost:PORT' */
  url: string;
  /** Stores a new version of the secret (rotation); reads without a version get the newest. */
  setSecret(name: string, secret: FakeSecret): void;
  deleteSecret(name: string): void;
  /** Callers whose token `oid` matches (or everyone, '*') get 403 ForbiddenByRbac. */
  forbid(principalOid: string | '*'): void;
  /** Undoes forbid for that oid; allow('*') lifts every ban. */
  allow(principalOid: string | '*'): void;
  /** The next `count` (default 1) authenticated requests get `status` (429 with Retry-After). */
  failNext(status: number, count?: number): void;
  requests: { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

/** The vault's host name, and the resource its challenge names: the local *.vault.azure.net and https://vault.azure.net. */
export const KEY_VAULT_HOST = 'kv.localhost';
export const KEY_VAULT_RESOURCE = 'https://localhost';
const HOSTS_LINE = `127.0.0.1 ${KEY_VAULT_HOST}`;

interface Version {
  id: string;
  secret: FakeSecret;
  created: number;
}

const unixSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * Makes sure kv.localhost resolves to 127.0.0.1. glibc does not resolve *.localhost by
 * itself; as root this adds the line to /etc/hosts, otherwise it throws naming the line to add.
 */
export async function ensureKvLocalhostResolves(): Promise<void> {
  try {
    const addresses = await lookup(KEY_VAULT_HOST, { all: true });
    if (addresses.some((a) => a.address === '127.0.0.1')) return;
  } catch {
    // ENOTFOUND: add it below.
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`${KEY_VAULT_HOST} does not resolve to 127.0.0.1, and the fake Key Vault needs it to. Add this line to /etc/hosts: ${HOSTS_LINE}`);
  }
  const hosts = readFileSync('/etc/hosts', 'utf8');
  appendFileSync('/etc/hosts', `${hosts.endsWith('\n') ? '' : '\n'}${HOSTS_LINE}\n`);
  process.stderr.write(`fake Key Vault: added "${HOSTS_LINE}" to /etc/hosts\n`);
}

/** Starts the vault on 127.0.0.1 (random port), reached as https://kv.localhost:PORT. */
export async function startFakeKeyVault(options: { entra: FakeEntra; secrets?: Record<string, FakeSecret> }): Promise<FakeKeyVault> {
  await ensureKvLocalhostResolves();
  const { entra } = options;
  // Key Vault object names are case-insensitive.
  const secrets = new Map<string, Version[]>();
  const forbidden = new Set<string>();
  let injected: { status: number; remaining: number } | undefined;

  const server = await startHttpFake({
    tlsHostnames: [KEY_VAULT_HOST, 'localhost'],
    answer: (req) => {
      const reply = respond(req);
      vault.requests.push({ method: req.method, path: req.url.pathname, status: reply.status });
      return reply;
    },
    headers: () => ({ 'x-ms-request-id': randomUUID(), 'x-ms-keyvault-service-version': '1.9.0.0' }),
  });
  const url = `https://${KEY_VAULT_HOST}:${server.port}`;

  const vault: FakeKeyVault = {
    url,
    setSecret(name, secret) {
      const versions = secrets.get(name.toLowerCase()) ?? [];
      versions.push({ id: randomBytes(16).toString('hex'), secret, created: unixSeconds(new Date()) });
      secrets.set(name.toLowerCase(), versions);
    },
    deleteSecret(name) {
      secrets.delete(name.toLowerCase());
    },
    forbid(principalOid) {
      forbidden.add(principalOid.toLowerCase());
    },
    allow(principalOid) {
      if (principalOid === '*') forbidden.clear();
      else forbidden.delete(principalOid.toLowerCase());
    },
    failNext(status, count = 1) {
      injected = { status, remaining: count };
    },
    requests: [],
    close: () => server.close(),
  };
  for (const [name, secret] of Object.entries(options.secrets ?? {})) vault.setSecret(name, secret);

  function respond(req: FakeRequest): JsonReply {
    const { caller, challenge } = authenticate(req.headers.authorization);
    if (challenge) return challenge;

    if (injected && injected.remaining > 0) {
      injected.remaining -= 1;
      const code = injected.status === 429 ? 'Throttled' : 'ServiceUnavailable';
      return {
        status: injected.status,
        body: { error: { code, message: `Injected failure (HTTP ${injected.status}) from the fake Key Vault.` } },
        headers: injected.status === 429 || injected.status === 503 ? { 'retry-after': '1' } : undefined,
      };
    }
    if (!req.url.searchParams.get('api-version')) {
      return keyVaultError(400, 'BadParameter', 'The request URI must carry an api-version query parameter.');
    }
    // GET /secrets/{name}, /secrets/{name}/ (the SDK's form without a version) or /secrets/{name}/{version}
    const match = /^\/secrets\/([0-9a-zA-Z-]{1,127})(?:\/([^/]*))?$/.exec(req.url.pathname);
    if (req.method !== 'GET' || !match) {
      return keyVaultError(400, 'BadParameter', `The fake Key Vault answers only GET /secrets/{name}[/{version}], not ${req.method} ${req.url.pathname}.`);
    }
    const [, name = '', versionId] = match;
    if (forbidden.has('*') || forbidden.has(caller.oid.toLowerCase())) return forbiddenByRbac(caller, name);

    const versions = secrets.get(name.toLowerCase()) ?? [];
    const version = versionId ? versions.find((v) => v.id === versionId) : versions.at(-1);
    if (!version) {
      const what = versionId ? `${name}/${versionId}` : name;
      return keyVaultError(404, 'SecretNotFound', `A secret with (name/id) ${what} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`);
    }
    const { secret } = version;
    const enabled = secret.enabled ?? true;
    if (!enabled) {
      return keyVaultError(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
    }
    // Key Vault serves expired and not-yet-valid secrets alike: exp and nbf are informational for secrets.
    return {
      status: 200,
      body: {
        value: secret.value,
        contentType: secret.contentType,
        id: `${url}/secrets/${name}/${version.id}`,
        attributes: {
          enabled,
          nbf: secret.notBefore && unixSeconds(secret.notBefore),
          exp: secret.expiresOn && unixSeconds(secret.expiresOn),
          created: version.created,
          updated: version.created,
          recoveryLevel: 'Recoverable+Purgeable',
          recoverableDays: 90,
        },
        tags: {},
      },
    };
  }

  /** The caller's token claims, or the 401 challenge that makes the SDK fetch a token. */
  function authenticate(authorization: string | undefined): { caller: AccessTokenClaims; challenge?: never } | { caller?: never; challenge: JsonReply } {
    const headers = {
      'www-authenticate': `Bearer authorization="${entra.authorityHost}/${entra.tenantId}", resource="${KEY_VAULT_RESOURCE}"`,
    };
    const token = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) {
      return { challenge: { ...keyVaultError(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.'), headers } };
    }
    try {
      return { caller: entra.verifyAccessToken(token, KEY_VAULT_RESOURCE) };
    } catch (error) {
      // Key Vault words these as AKV100xx codes; the fake says in plain words what failed.
      return { challenge: { ...keyVaultError(401, 'Unauthorized', `Token validation failed: ${(error as Error).message}`), headers } };
    }
  }

  function forbiddenByRbac(caller: AccessTokenClaims, name: string): JsonReply {
    return keyVaultError(
      403,
      'Forbidden',
      'Caller is not authorized to perform action on resource.\r\n' +
        'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n' +
        `Caller: appid=${caller.appid};oid=${caller.oid};iss=${caller.iss}\r\n` +
        "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n" +
        `Resource: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/local/providers/microsoft.keyvault/vaults/kv/secrets/${name.toLowerCase()}'\r\n` +
        'Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: kv;location=local\r\n',
      'ForbiddenByRbac',
    );
  }

  return vault;
}

function keyVaultError(status: number, code: string, message: string, innerCode?: string): JsonReply {
  return { status, body: { error: { code, message, ...(innerCode ? { innererror: { code: innerCode } } : {}) } } };
}
