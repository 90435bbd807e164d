import type { Settings } from '../../config/settings.js';
import { DrainError } from '../../errors/errors.js';
import type { Logger } from '../../errors/logger.js';
import { settingsFacts } from '../../errors/settingsFacts.js';
import { EXCHANGE_AUDIENCE, IMAP_ROLE, type AppCredential } from '../../identity/credential.js';
import type { Passed } from './doctorStep.js';
import { tokenClaims, type TokenClaims } from './tokenClaims.js';

/**
 * A token for the mailbox, and what it grants: the audience, the IMAP role,
 * the tenant and app. Exchange says only "AUTHENTICATE failed" for all of
 * them; the token tells them apart.
 */
export async function checkToken(app: AppCredential, settings: Settings, logger: Logger): Promise<Passed<TokenClaims>> {
  const facts = settingsFacts(settings);
  const token = await app.mailboxToken(logger);
  const claims = tokenClaims(token.token, facts);
  const expires = claims.exp ? new Date(claims.exp * 1000) : new Date(token.expiresOnTimestamp);
  const minutes = Math.round((expires.getTime() - Date.now()) / 60_000);
  const hasRole = claims.roles.includes(IMAP_ROLE);
  const said =
    `audience ${claims.aud ?? '(none)'}, role ${IMAP_ROLE} ${hasRole ? 'present' : 'MISSING'}` +
    `${claims.roles.length > 0 ? ` (roles: ${claims.roles.join(', ')})` : ' (no roles)'}, ` +
    `tenant ${claims.tid ?? '(none)'}, app id ${claims.appid ?? '(none)'}, ` +
    `service principal ${claims.oid ?? '(none)'}, expires ${expires.toISOString()} (in ${minutes} min)`;

  if (claims.aud?.replace(/\/+$/, '') !== EXCHANGE_AUDIENCE) {
    throw new DrainError('ENTRA_TOKEN_MISMATCH', `The token is not for Exchange Online: ${said}; its audience must be ${EXCHANGE_AUDIENCE}.`, facts);
  }
  if (!hasRole) {
    throw new DrainError('ENTRA_CONSENT_MISSING', `The token does not grant ${IMAP_ROLE}, so Exchange will refuse it: ${said}.`, facts);
  }
  if (claims.tid !== settings.tenantId || claims.appid !== settings.clientId) {
    throw new DrainError(
      'ENTRA_TOKEN_MISMATCH',
      `The token is not the configured app's in the configured tenant (TENANT_ID ${settings.tenantId}, CLIENT_ID ${settings.clientId}): ${said}.`,
      facts,
    );
  }
  return { value: claims, detail: said };
}
