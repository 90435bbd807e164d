/**
 * The real IMAP server tier: Dovecot from Debian, configured the way Exchange
 * Online's IMAP endpoint behaves for an app-only client.
 *
 *   implicit TLS only (like port 993)    certificate from the local CA
 *   AUTHENTICATE XOAUTH2 only            oauth2 passdb; every login is introspected by the
 *                                        fake Entra (signature, expiry, audience, app role)
 *   mailbox permission                   a second passdb: the mailboxes the app was granted,
 *                                        as Add-MailboxPermission grants them
 *   Exchange's capabilities              no CONDSTORE, ESEARCH, SPECIAL-USE... for the client to lean on
 *   "/" as hierarchy separator           as Exchange
 *   BYE once the session's token expired tokenExpiryProxy.ts, in front (Dovecot cannot)
 *
 * Each call of startDovecot() runs its own instance: own temporary directory,
 * base_dir, port and mail store, nothing else listening. Dovecot runs as root
 * (it drops privileges itself), as CI does.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { freePort } from '../../local/azurite.js';
import { loadOrCreateLocalCa } from '../../local/ca.js';
import type { FakeEntra } from '../../local/entra.js';
import { EXCHANGE_AUDIENCE, IMAP_ROLE } from '../../local/stack.js';
import { startTokenExpiryProxy, type TokenExpiryProxy } from './tokenExpiryProxy.js';

export const DOVECOT_PACKAGE = 'dovecot-imapd';
export const DOVECOT_INSTALL_COMMAND = `apt-get update && apt-get install -y ${DOVECOT_PACKAGE}`;

/**
 * What Exchange Online advertises once authenticated (it adds AUTH=PLAIN and AUTH=XOAUTH2
 * before). Dovecot would offer far more; a client that used it would pass here and fail there.
 */
const EXCHANGE_CAPABILITIES = 'IMAP4 IMAP4rev1 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+';
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

const isCi = () => /^(1|true|yes)$/i.test(process.env.CI ?? '');

export type DovecotAvailability = { available: true; version: string } | { available: false; reason: string };

function dovecotVersion(): string | undefined {
  const result = spawnSync('dovecot', ['--version'], { encoding: 'utf8', env: withSbin() });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

// dovecot lives in /usr/sbin, which is not on every PATH.
function withSbin(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin` };
}

/**
 * Makes sure Dovecot is installed, installing it with apt-get when missing (as root).
 *
 * Under CI (CI=true) anything short of a usable Dovecot throws: the tier never turns
 * into a skip there. Elsewhere a Dovecot that cannot be installed comes back as
 * unavailable, with a reason to print loudly and skip on.
 */
export function ensureDovecot(): DovecotAvailability {
  const unavailable = (reason: string): DovecotAvailability => {
    if (isCi()) throw new Error(`The Dovecot tier cannot run under CI: ${reason}`);
    const banner = '!'.repeat(78);
    console.error(`\n${banner}\n  SKIPPING the Dovecot (real IMAP server) tests: ${reason}\n${banner}\n`);
    return { available: false, reason };
  };
  const isRoot = process.getuid?.() === 0;
  let version = dovecotVersion();
  if (!version) {
    if (!isRoot) return unavailable(`Dovecot is not installed and this is not root. Install it: sudo sh -c '${DOVECOT_INSTALL_COMMAND}'`);
    console.error(`Dovecot is missing; installing it: ${DOVECOT_INSTALL_COMMAND}`);
    const env = { ...withSbin(), DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [['update'], ['install', '-y', DOVECOT_PACKAGE]]) {
      const result = spawnSync('apt-get', args, { encoding: 'utf8', env });
      if (result.status !== 0) {
        const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}`.trim().split('\n').slice(-15).join('\n');
        return unavailable(`apt-get ${args.join(' ')} failed (${DOVECOT_INSTALL_COMMAND}):\n${output}`);
      }
    }
    version = dovecotVersion();
    if (!version) return unavailable(`${DOVECOT_PACKAGE} was installed but dovecot --version does not run`);
  }
  if (!isRoot) return unavailable(`Dovecot ${version} is installed, but the tests start it as root and this is not root`);
  return { available: true, version };
}

export interface DovecotMessage {
  uid: number;
  flags: string[];
  raw: Buffer;
}

export interface Dovecot {
  host: 'localhost';
  /** The Exchange-like endpoint the drain connects to: the token expiry proxy in front of Dovecot. */
  port: number;
  /** Dovecot's own implicit-TLS listener, without the proxy. */
  dovecotPort: number;
  /** The generated dovecot.conf. */
  configPath: string;
  /** Stores a message in `folder` (created if missing) with doveadm, not over IMAP. */
  seed(user: string, folder: string, raw: Buffer): Promise<void>;
  /**
   * Delivers many messages to the user's INBOX at once, as files in its Maildir's
   * new/ (what a local delivery agent does): tens of thousands in seconds, where
   * doveadm save takes a process per message. Dovecot assigns UIDs on next access.
   */
  deliver(user: string, raws: Buffer[]): void;
  /** The path of a message's file in the user's INBOX Maildir, by UID (after Dovecot has indexed it). */
  maildirFile(user: string, uid: number): Promise<string>;
  /** A folder's messages by UID, read with doveadm; [] for a folder that does not exist. */
  messages(user: string, folder: string): Promise<DovecotMessage[]>;
  /** The user's folders, read with doveadm. */
  folders(user: string): Promise<string[]>;
  /** Runs `doveadm -c <this instance's config> ...args`; resolves with its output, rejects on a non-zero exit. */
  doveadm(args: string[], input?: Buffer): Promise<Buffer>;
  /** Lets the app open `user`'s mailbox (Add-MailboxPermission); in force when this resolves. */
  grant(user: string): Promise<void>;
  /** Takes the permission away again (Remove-MailboxPermission); in force when this resolves. */
  revoke(user: string): Promise<void>;
  /** Sessions the proxy ended with "* BYE Session invalidated - AccessTokenExpired". */
  readonly expiredSessions: number;
  /** Treats every open session's token as expired now: its next command gets that BYE. */
  expireSessions(): void;
  /** Dovecot's log so far, for assertion messages. */
  log(): string;
  /** Stops and starts Dovecot on the same port and mail store. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface DovecotOptions {
  /** The token service that introspects every login. */
  entra: FakeEntra;
  /** Mailboxes the app may open from the start. */
  grants?: string[];
  /** What Dovecot advertises once authenticated (imap_capability): Exchange's list unless given, e.g. without UIDPLUS. */
  capabilities?: string;
}

/** Exchange's capabilities without some of them, for a server that lacks them. */
export function capabilitiesWithout(...names: string[]): string {
  return EXCHANGE_CAPABILITIES.split(' ').filter((c) => !names.includes(c)).join(' ');
}

export async function startDovecot(options: DovecotOptions): Promise<Dovecot> {
  const ca = loadOrCreateLocalCa();
  const dir = mkdtempSync(join(tmpdir(), 'dovecot-'));
  // Dovecot's unprivileged processes (dovecot, dovenull) must reach into the directory.
  chmodSync(dir, 0o755);
  const [uid, gid] = ['-u', '-g'].map((flag) => Number(spawnSync('id', [flag, 'dovecot'], { encoding: 'utf8' }).stdout.trim()));
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`No "dovecot" system user; is ${DOVECOT_PACKAGE} installed?`);

  const tls = ca.issue(['localhost']);
  mkdirSync(join(dir, 'tls'), { mode: 0o700 });
  writeFileSync(join(dir, 'tls', 'server.crt'), tls.cert);
  writeFileSync(join(dir, 'tls', 'server.key'), tls.key, { mode: 0o600 });
  // The auth process runs as "dovecot" and must read the CA it checks the token service with.
  copyFileSync(ca.certPath, join(dir, 'ca.pem'));
  mkdirSync(join(dir, 'home'));
  chownSync(join(dir, 'home'), uid!, gid!);

  const port = await freePort();
  const configPath = join(dir, 'dovecot.conf');
  const grantsPath = join(dir, 'mailbox-permissions');
  writeFileSync(configPath, dovecotConf({ dir, port, grantsPath, capabilities: options.capabilities ?? EXCHANGE_CAPABILITIES }));
  writeFileSync(
    join(dir, 'dovecot-oauth2.conf.ext'),
    oauth2Conf({ introspectionUrl: options.entra.introspectionUrl({ audience: EXCHANGE_AUDIENCE, role: IMAP_ROLE }), caFile: join(dir, 'ca.pem') }),
  );

  const grants = new Set((options.grants ?? []).map((user) => user.toLowerCase()));
  let grantsStamp = 0;
  let master: ChildProcess | undefined;
  const writeGrants = async () => {
    // passwd-file: user:password:uid:gid:gecos:home:shell:extra. The token was checked by
    // the passdb before; this one only says whether the mailbox may be opened.
    const lines = [...grants].map((user) => `${user}:::::::nopassword`);
    writeFileSync(`${grantsPath}.new`, lines.length ? `${lines.join('\n')}\n` : '');
    renameSync(`${grantsPath}.new`, grantsPath);
    // Dovecot reloads a passwd-file when its mtime (in seconds) or size changes, and looks
    // at most once a second; a strictly increasing mtime and a wait for the next second
    // make a change certain to be seen by the next login.
    grantsStamp = Math.max(grantsStamp + 1, Math.floor(Date.now() / 1000));
    utimesSync(grantsPath, grantsStamp, grantsStamp);
    if (master) await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));
  };
  await writeGrants();

  const logPath = join(dir, 'dovecot.log');
  const log = () => {
    try {
      return readFileSync(logPath, 'utf8');
    } catch {
      return '';
    }
  };

  const killOnExit = () => master?.kill('SIGKILL');
  process.on('exit', killOnExit);

  const start = async () => {
    // -F: stay in the foreground as this process's child, so its lifetime is ours to manage.
    const output = openSync(join(dir, 'dovecot.stderr'), 'w');
    const child = spawn('dovecot', ['-F', '-c', configPath], { stdio: ['ignore', output, output], env: withSbin() });
    closeSync(output);
    master = child;
    const failed = () =>
      new Error(
        `Dovecot did not start (dovecot -F -c ${configPath}):\n${readFileSync(join(dir, 'dovecot.stderr'), 'utf8')}${log()}`,
      );
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw failed();
      if (await greets(port, ca.certPem)) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw failed();
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const stopMaster = async () => {
    const child = master;
    master = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timeout = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timeout);
  };

  let proxy: TokenExpiryProxy | undefined;
  try {
    await start();
    proxy = await startTokenExpiryProxy({
      target: { host: '127.0.0.1', port, servername: 'localhost', ca: ca.certPem },
      tls,
      expiresAt: (token) => {
        try {
          return options.entra.verifyAccessToken(token, EXCHANGE_AUDIENCE).exp;
        } catch {
          return undefined;
        }
      },
    });
  } catch (error) {
    await stopMaster();
    process.off('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const expiryProxy = proxy;

  const doveadm = async (args: string[], input?: Buffer): Promise<Buffer> => {
    // Not spawnSync: doveadm's user lookups go through Dovecot's auth, and this process's event loop must keep serving.
    const child = spawn('doveadm', ['-c', configPath, ...args], { env: withSbin(), stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.end(input);
    const [code] = (await once(child, 'close')) as [number | null];
    if (code !== 0) throw new Error(`doveadm ${args.join(' ')} failed (exit ${code}): ${Buffer.concat(stderr).toString('utf8').trim()}`);
    return Buffer.concat(stdout);
  };
  const folders = async (user: string) => (await doveadm(['mailbox', 'list', '-u', user])).toString('utf8').split('\n').filter(Boolean);

  return {
    host: 'localhost',
    port: expiryProxy.port,
    dovecotPort: port,
    configPath,
    async seed(user, folder, raw) {
      if (!(await folders(user)).includes(folder)) await doveadm(['mailbox', 'create', '-u', user, folder]);
      await doveadm(['save', '-u', user, '-m', folder], raw);
    },
    async messages(user, folder) {
      if (!(await folders(user)).includes(folder)) return [];
      const listing = await doveadm(['-f', 'flow', 'fetch', '-u', user, 'uid flags', 'mailbox', folder, 'all']);
      const found: DovecotMessage[] = [];
      for (const line of listing.toString('utf8').split('\n').filter(Boolean)) {
        const [, uid, flags = ''] = /^uid=(\d+) flags=(.*)$/.exec(line) ?? [];
        if (!uid) throw new Error(`unexpected doveadm fetch output: ${line}`);
        // One message per call: the pager formatter prints "text:" and the bytes as stored.
        const raw = await doveadm(['-f', 'pager', 'fetch', '-u', user, 'text', 'mailbox', folder, 'uid', uid]);
        found.push({ uid: Number(uid), flags: flags.split(' ').filter(Boolean), raw: pagerValue(raw, 'text') });
      }
      return found;
    },
    deliver(user, raws) {
      const maildir = join(dir, 'home', user.toLowerCase(), 'Maildir');
      for (const sub of ['', 'cur', 'new', 'tmp']) {
        mkdirSync(join(maildir, sub), { recursive: true });
        chownSync(join(maildir, sub), uid!, gid!);
      }
      chownSync(join(dir, 'home', user.toLowerCase()), uid!, gid!);
      const stamp = Math.floor(Date.now() / 1000);
      raws.forEach((raw, index) => {
        // Maildir names: unique per message; "," info ignored for new/.
        const file = join(maildir, 'new', `${stamp}.M${index}P${process.pid}.mail-drain`);
        writeFileSync(file, Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'));
        chownSync(file, uid!, gid!);
      });
    },
    async maildirFile(user, uid) {
      const listing = (await doveadm(['-f', 'flow', 'fetch', '-u', user, 'uid guid', 'mailbox', 'INBOX', 'uid', String(uid)])).toString('utf8');
      const guid = /guid=(\S+)/.exec(listing)?.[1];
      if (!guid) throw new Error(`no message with UID ${uid} in ${user}'s INBOX: ${listing}`);
      const maildir = join(dir, 'home', user.toLowerCase(), 'Maildir');
      for (const sub of ['cur', 'new']) {
        const name = readdirSync(join(maildir, sub)).find((f) => f.startsWith(`${guid}`) || f.split(':')[0] === guid);
        if (name) return join(maildir, sub, name);
      }
      throw new Error(`no Maildir file for UID ${uid} (guid ${guid})`);
    },
    folders,
    doveadm,
    async grant(user) {
      grants.add(user.toLowerCase());
      await writeGrants();
    },
    async revoke(user) {
      grants.delete(user.toLowerCase());
      await writeGrants();
    },
    get expiredSessions() {
      return expiryProxy.expiredSessions;
    },
    expireSessions: () => expiryProxy.expireSessions(),
    log,
    async restart() {
      await stopMaster();
      await start();
    },
    async stop() {
      await expiryProxy.close();
      await stopMaster();
      process.off('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True once the server at `port` completes a TLS handshake and sends its greeting. */
function greets(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('data', (data: Buffer) => done(data.toString('latin1').startsWith('* OK')));
    socket.once('error', () => done(false));
  });
}

function pagerValue(output: Buffer, field: string): Buffer {
  const label = Buffer.from(`${field}:\n`);
  if (!output.subarray(0, label.length).equals(label)) throw new Error(`unexpected doveadm output: ${output.subarray(0, 80).toString()}`);
  // The pager formatter ends a record with a form feed line.
  let end = output.length;
  if (output.subarray(end - 2).toString('latin1') === '\f\n') end -= 2;
  return output.subarray(label.length, end);
}

function dovecotConf({ dir, port, grantsPath, capabilities }: { dir: string; port: number; grantsPath: string; capabilities: string }): string {
  return `# Dovecot configured like Exchange Online's IMAP endpoint, for mail-drain's integration tests.
# Written by test/support/dovecot.ts; everything this instance uses is under ${dir}.
instance_name = mail-drain-${port}
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1

# Implicit TLS only, as outlook.office365.com:993.
ssl = required
ssl_cert = <${dir}/tls/server.crt
ssl_key = <${dir}/tls/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = ${port}
    ssl = yes
  }
}
imap_capability = ${capabilities}

# XOAUTH2 is the only way in. No auth cache (auth_cache_size = 0), so every login's
# token is introspected. The tests refuse tokens on purpose: no growing penalty, and
# no failure delay beyond Dovecot's own (it answers queued failures every 500 ms).
auth_mechanisms = xoauth2
auth_cache_size = 0
auth_failure_delay = 0
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}

# Exchange's two checks, in its order. First the token: the fake Entra introspects it
# (signature, expiry, audience, app role).
passdb {
  driver = oauth2
  mechanisms = xoauth2
  args = ${dir}/dovecot-oauth2.conf.ext
  result_success = continue-ok
  result_failure = return-fail
  result_internalfail = return-fail
}
# Then the mailbox permission (Add-MailboxPermission): an app-only token names no mailbox,
# so whether it may open this one is Exchange's own record, not the token's.
passdb {
  driver = passwd-file
  args = ${grantsPath}
  skip = unauthenticated
  result_success = return-ok
  result_failure = return-fail
  result_internalfail = return-fail
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=${dir}/home/%Lu allow_all_users=yes
}

mail_location = maildir:~/Maildir
# Saved with CRLF line ends, as IMAP serves them, so doveadm shows the bytes a client fetches.
mail_save_crlf = yes
namespace inbox {
  inbox = yes
  # Exchange's hierarchy separator.
  separator = /
}
`;
}

function oauth2Conf({ introspectionUrl, caFile }: { introspectionUrl: string; caFile: string }): string {
  return `# The oauth2 passdb: every token is sent to the token service's introspection endpoint (RFC 7662),
# which answers {"active": true, ...claims} only for a token signed by it, unexpired, for
# ${EXCHANGE_AUDIENCE} and carrying the ${IMAP_ROLE} app role.
introspection_mode = post
introspection_url = ${introspectionUrl}
# Dovecot lets a reply without this attribute through; the token service always sends it.
active_attribute = active
active_value = true
# Dovecot compares username_attribute with the login name through username_format. An
# app-only token has no user in it (sub is the app's service principal), so the comparison
# is switched off with an empty format; the mailbox permission passdb decides instead.
username_attribute = sub
username_format =
tls_ca_cert_file = ${caFile}
timeout_msecs = 5000
`;
}
