/**
 * A file name safe as the last segment of a blob name: no path separators, no
 * control characters (C0, DEL and C1: Azure Storage refuses a blob name with
 * any of them, with 400), at most 200 UTF-16 units, and never half a surrogate
 * pair (a cut emoji would make the blob URL unencodable on every run).
 */
export function safeName(filename: string): string {
  const cleaned = filename
    .replace(/[\\/\x00-\x1f\x7f-\x9f?#%]+/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 200)
    .replace(/[\uD800-\uDBFF]$/, '');
  return cleaned || 'attachment';
}
