const MICROSOFT_CLOUD_HOSTS = new Set(['login.microsoftonline.com', 'login.microsoftonline.us', 'login.chinacloudapi.cn', 'login.microsoftonline.de']);

/**
 * Every token request honours AZURE_AUTHORITY_HOST; for a host that is not one
 * of Microsoft's clouds instance discovery is off (MSAL would otherwise ask
 * Microsoft's host about it), as Azure Stack and private clouds need.
 */
export function authorityOptions(authorityHost: string) {
  return {
    authorityHost,
    disableInstanceDiscovery: !MICROSOFT_CLOUD_HOSTS.has(new URL(authorityHost).hostname),
  };
}
