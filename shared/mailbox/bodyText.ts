/**
 * A text part's bytes made text piece by piece, exactly as mailparser makes
 * them text whole: `Buffer.concat(chunks).toString().replace(/\r?\n/g, '\n')`.
 *
 * Piece by piece gives the same string only if no piece ends inside a UTF-8
 * sequence that the next bytes may still complete (the decoder, WHATWG's, is
 * then in its initial state at every cut) and no CR is parted from its LF.
 */

/** The bytes a UTF-8 lead byte starts, and the bounds of the byte after it (WHATWG Encoding, UTF-8 decoder). */
function sequenceOf(lead: number): { length: number; lower: number; upper: number } {
  if (lead >= 0xc2 && lead <= 0xdf) return { length: 2, lower: 0x80, upper: 0xbf };
  if (lead === 0xe0) return { length: 3, lower: 0xa0, upper: 0xbf };
  if (lead === 0xed) return { length: 3, lower: 0x80, upper: 0x9f };
  if (lead >= 0xe1 && lead <= 0xef) return { length: 3, lower: 0x80, upper: 0xbf };
  if (lead === 0xf0) return { length: 4, lower: 0x90, upper: 0xbf };
  if (lead === 0xf4) return { length: 4, lower: 0x80, upper: 0x8f };
  if (lead >= 0xf1 && lead <= 0xf3) return { length: 4, lower: 0x80, upper: 0xbf };
  // ASCII, a continuation byte, or a byte that never starts a sequence: complete in itself.
  return { length: 1, lower: 0, upper: 0 };
}

const isContinuation = (byte: number) => (byte & 0xc0) === 0x80;

/**
 * Where `bytes` may be cut: its length, or the start of a sequence at its end
 * that is incomplete but still valid so far, which the next bytes may complete.
 */
export function completeUpTo(bytes: Uint8Array): number {
  const end = bytes.length;
  let lead = end - 1;
  while (lead >= 0 && lead > end - 4 && isContinuation(bytes[lead]!)) lead--;
  if (lead < 0 || isContinuation(bytes[lead]!)) return end;
  const { length, lower, upper } = sequenceOf(bytes[lead]!);
  if (end - lead >= length) return end;
  // A second byte out of bounds ends the sequence there (as U+FFFD): nothing is left pending.
  if (end - lead >= 2 && (bytes[lead + 1]! < lower || bytes[lead + 1]! > upper)) return end;
  return lead;
}

export class BodyTextDecoder {
  private held: Buffer = Buffer.alloc(0);
  private heldCr = false;
  /** Bytes taken in so far: mailparser counts a part with none as absent. */
  bytes = 0;

  write(chunk: Buffer): string {
    this.bytes += chunk.length;
    const bytes = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    const cut = completeUpTo(bytes);
    // A copy: a view would keep the whole chunk alive.
    this.held = Buffer.from(bytes.subarray(cut));
    return this.lines(bytes.toString('utf8', 0, cut), false);
  }

  end(): string {
    const rest = this.held.toString('utf8');
    this.held = Buffer.alloc(0);
    return this.lines(rest, true);
  }

  private lines(text: string, last: boolean): string {
    if (this.heldCr) text = `\r${text}`;
    this.heldCr = !last && text.endsWith('\r');
    if (this.heldCr) text = text.slice(0, -1);
    return text.replace(/\r?\n/g, '\n');
  }
}
