/**
 * A UID set in ranges ("1:25,30"): a batch of consecutive UIDs is one short
 * argument, however many there are. Dovecot refuses arguments past about
 * 14,000 UIDs and Exchange at about 40,000 characters, so no command here ever
 * names UIDs one by one.
 */
export function uidSet(uids: number[]): string {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push(i === j ? String(sorted[i]) : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return ranges.join(',');
}
