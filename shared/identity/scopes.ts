/** The scope of an app-only token for Exchange Online IMAP. */
export const EXCHANGE_SCOPE = 'https://outlook.office365.com/.default';
/** The audience of an Exchange Online token. */
export const EXCHANGE_AUDIENCE = new URL(EXCHANGE_SCOPE).origin;
/** The app role IMAP requires of an app-only token. */
export const IMAP_ROLE = 'IMAP.AccessAsApp';
/** The audience Entra ID expects of a managed identity token used as a federated credential. */
export const TOKEN_EXCHANGE_SCOPE = 'api://AzureADTokenExchange/.default';
