/**
 * A URL as it may be shown or sent: without its query string. With a SAS
 * connection string the SDK's URLs carry the write-capable signature; consumers
 * read blobs with their own identity, and no log line or queue message may
 * carry a credential.
 */
export function publicUrl(url: string): string {
  // The SDK percent-encodes a blob name's own "?" and "#", so the first of either starts the query.
  return url.replace(/[?#][\s\S]*$/, '');
}
