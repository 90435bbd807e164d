import type { AccessToken, TokenCredential } from '@azure/identity';
import { DrainError } from '../errors/errors.js';
import type { Facts } from '../errors/facts.js';
import { explainTokenError } from '../errors/explainTokenError.js';
import { registerSecret, type Logger } from '../errors/logger.js';
import { EXCHANGE_SCOPE } from './scopes.js';

/** A token for Exchange Online, registered with the logger's redaction before anyone can log it. */
export async function requestToken(credential: TokenCredential, facts: Facts, logger: Logger): Promise<AccessToken> {
  const token = await credential.getToken(EXCHANGE_SCOPE).catch((error: unknown) => {
    throw explainTokenError(error, facts);
  });
  if (!token) throw new DrainError('ENTRA_TOKEN_FAILED', 'Entra ID returned no token.', facts);
  registerSecret(token.token, token.expiresOnTimestamp);
  logger.debug(`Got a token for ${EXCHANGE_SCOPE}, valid until ${new Date(token.expiresOnTimestamp).toISOString()}`);
  return token;
}
