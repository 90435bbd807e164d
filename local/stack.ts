/**
 * The embedded local stack: everything the drain talks to in Azure, on this
 * machine, so that `npm start` and the tests run the very code that runs there.
 *
 *   Entra ID token endpoint   fake, HTTPS, real wire protocol   (local/entra.ts)
 *   managed identity endpoint fake, App Service protocol        (local/managedIdentity.ts)
 *   Key Vault                 fake, HTTPS, challenge auth        (local/keyVault.ts)
 *   Storage                   Azurite, in memory                 (local/azurite.ts)
 *   IMAP                      hoodiecrow, TLS, XOAUTH2 only      (local/imapServer.ts)
 *
 * TLS is real: every server has a certificate from the local CA, which the
 * drain process trusts through NODE_EXTRA_CA_CERTS.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { loadOrCreateLocalCa } from './ca.js';
import { startAzurite, type LocalAzurite } from './azurite.js';
import { startFakeEntra, type FakeEntra } from './entra.js';
import { startFakeKeyVault, type FakeKeyVault } from './keyVault.js';
import { startFakeManagedIdentity, type FakeManagedIdentity } from './managedIdentity.js';
import { NOT_CONNECTED, startLocalImapServer, type LocalImapServer, type SeedMessage } from './imapServer.js';
import type { SettingName } from '../shared/config/settingsSchema.js';

// What Exchange Online requires of an app-only token: the product's own constants, so the fakes cannot drift from them.
import { EXCHANGE_AUDIENCE, IMAP_ROLE } from '../shared/identity/credential.js';
export { EXCHANGE_AUDIENCE, IMAP_ROLE };

export interface LocalStack {
  entra: FakeEntra;
  identity: FakeManagedIdentity;
  vault: FakeKeyVault;
  azurite: LocalAzurite;
  imap: LocalImapServer;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  mailbox: string;
  /** Mailboxes the app may open, as Add-MailboxPermission grants them. */
  mailboxGrants: Set<string>;
  /**
   * Whether the Exchange service principal exists (New-ServicePrincipal). Without it
   * Exchange answers AUTHENTICATE failed; without a mailbox grant, it logs the app in
   * and then answers "User is authenticated but not connected".
   */
  exchangeServicePrincipal: { registered: boolean };
  /** Every access token the IMAP server was shown (for leak checks; never log them). */
  tokensSeen: string[];
  /** The drain's settings for this stack, as app settings (names as in the README). */
  settings: Record<string, string>;
  /** What the platform provides in Azure: the managed identity endpoint and CA trust. */
  platformEnv: Record<string, string>;
  /**
   * Replaces the mailbox with a fresh one holding `messages` (a new IMAP server,
   * on which any other mailbox starts empty; `settings.IMAP_PORT` follows). The
   * rest of the stack stays: MSAL keeps the managed identity endpoint and its
   * tokens for the life of a process.
   */
  reseed(messages: SeedMessage[], options?: { uidValidity?: number }): Promise<void>;
  queueName: string;
  containerName: string;
  stop(): Promise<void>;
}

export interface StackOptions {
  mailbox?: string;
  messages?: SeedMessage[];
  /**
   * Several mailboxes instead of `mailbox` and `messages`: each is granted, its
   * queue (and poison queue) created, and the settings list them all in
   * MAILBOXES. The first is the stack's `mailbox`.
   */
  mailboxes?: StackMailbox[];
  queueName?: string;
  containerName?: string;
}

export interface StackMailbox {
  mailbox: string;
  messages?: SeedMessage[];
  /** Its own queue (the MAILBOXES override) instead of the stack's. */
  outputQueue?: string;
}

/** The control queue, as the template names it. */
export const DRAIN_REQUESTS_QUEUE = 'mail-drain-requests';

/** Starts every local service and seeds the mailbox. `stop()` ends them all. */
export async function startLocalStack(options: StackOptions = {}): Promise<LocalStack> {
  const ca = loadOrCreateLocalCa();
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const clientSecret = `demo~${randomBytes(24).toString('base64url')}`;
  if (options.mailboxes?.length === 0) throw new Error('startLocalStack: mailboxes lists no mailbox');
  const mailboxes = options.mailboxes ?? [{ mailbox: options.mailbox ?? 'invoices@contoso.example', messages: options.messages ?? [] }];
  const mailbox = mailboxes[0]!.mailbox;
  const queueName = options.queueName ?? 'inbound-mail';
  const containerName = options.containerName ?? 'inbound-mail';
  const secretName = 'mail-drain-client-secret';
  const started: { stop(): Promise<void> }[] = [];

  try {
    const entra = await startFakeEntra({ tenantId, apps: [{ clientId, secret: clientSecret, roles: [IMAP_ROLE] }] });
    started.push({ stop: () => entra.close() });
    const identity = await startFakeManagedIdentity({ entra, clientId: randomUUID() });
    started.push({ stop: () => identity.close() });
    const vault = await startFakeKeyVault({ entra, secrets: { [secretName]: { value: clientSecret } } });
    started.push({ stop: () => vault.close() });
    const azurite = await startAzurite();
    started.push(azurite);

    const mailboxGrants = new Set(mailboxes.map((m) => m.mailbox.toLowerCase()));
    const exchangeServicePrincipal = { registered: true };
    const tokensSeen: string[] = [];
    const tls = ca.issue(['localhost']);
    // Exchange's checks, in its order: a valid token for Exchange, the app role, then the mailbox permission.
    const checkToken = (user: string, token: string) => {
      tokensSeen.push(token);
      let claims;
      try {
        claims = entra.verifyAccessToken(token, EXCHANGE_AUDIENCE);
      } catch (error) {
        return `token rejected: ${(error as Error).message}`;
      }
      if (!claims.roles?.includes(IMAP_ROLE)) return `token lacks the ${IMAP_ROLE} role`;
      if (!exchangeServicePrincipal.registered) return 'no Exchange service principal for the app';
      if (!mailboxGrants.has(user.toLowerCase())) return NOT_CONNECTED;
      return undefined;
    };
    const seeds = mailboxes.map((m) => ({ address: m.mailbox, messages: m.messages }));
    let imap = await startLocalImapServer({ tls, checkToken, mailboxes: [seeds[0]!, ...seeds.slice(1)] });
    started.push({ stop: () => imap.close() });

    // What infra/ deploys: each queue with its poison queue, the container, and the control queue of drain requests with its own.
    const queues = QueueServiceClient.fromConnectionString(azurite.connectionString);
    const queueNames = new Set([queueName, ...mailboxes.flatMap((m) => (m.outputQueue ? [m.outputQueue] : [])), DRAIN_REQUESTS_QUEUE]);
    for (const name of queueNames) for (const queue of [name, `${name}-poison`]) await queues.getQueueClient(queue).createIfNotExists();
    await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(containerName).createIfNotExists();

    const settings: Record<string, string> = {
      TENANT_ID: tenantId,
      CLIENT_ID: clientId,
      CREDENTIAL_TYPE: 'secret',
      KEY_VAULT_URL: vault.url,
      CLIENT_SECRET_NAME: secretName,
      ...(options.mailboxes
        ? { MAILBOXES: JSON.stringify(mailboxes.map((m) => (m.outputQueue ? { mailbox: m.mailbox, outputQueue: m.outputQueue } : { mailbox: m.mailbox }))) }
        : { MAILBOX: mailbox }),
      IMAP_HOST: imap.host,
      IMAP_PORT: String(imap.port),
      OUTPUT_STORAGE: azurite.connectionString,
      OUTPUT_QUEUE: queueName,
      OUTPUT_CONTAINER: containerName,
      DRAIN_REQUESTS_QUEUE,
      AZURE_AUTHORITY_HOST: entra.authorityHost,
      AZURE_CLIENT_ID: identity.clientId,
    } satisfies { [K in SettingName]?: string };
    return {
      entra,
      identity,
      vault,
      azurite,
      get imap() {
        return imap;
      },
      tenantId,
      clientId,
      clientSecret,
      mailbox,
      mailboxGrants,
      exchangeServicePrincipal,
      tokensSeen,
      queueName,
      containerName,
      settings,
      async reseed(messages, reseedOptions = {}) {
        await imap.close();
        imap = await startLocalImapServer({ tls, checkToken, mailboxes: [{ address: mailbox, messages }], uidValidity: reseedOptions.uidValidity });
        settings.IMAP_PORT = String(imap.port);
      },
      platformEnv: { ...identity.env(), NODE_EXTRA_CA_CERTS: ca.certPath },
      async stop() {
        for (const service of started.reverse()) await service.stop().catch(() => {});
      },
    };
  } catch (error) {
    for (const service of started.reverse()) await service.stop().catch(() => {});
    throw error;
  }
}
