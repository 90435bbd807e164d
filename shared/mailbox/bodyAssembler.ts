/**
 * One body (the text or the html) of a message being stream-parsed, assembled
 * in the order mailparser's getTextContent() joins it: its entries, in the
 * order of the MIME tree, joined by a separator ('\n' for text, '<br/>\n' for
 * html). An entry is a text part streaming in, or a short string (an embedded
 * message's header summary, or the '' that mailparser adds for a part of the
 * other kind), some of which are only known once later parts are seen.
 *
 * The body is held in memory while it is at most `inlineLimit` UTF-8 bytes;
 * beyond that everything is written on, as it comes, to the stream `openBlob`
 * uploads: a body of any size costs the limit, never its size.
 */
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { BodyTextDecoder } from './bodyText.js';

/** A string entry: the string, null when it has turned out absent, undefined while not yet known. */
export type Pending = () => string | null | undefined;

/** A text part's content stream, read only when its turn in the body comes. */
export interface PartEntry {
  content: Readable;
  /** Called once the part is read: with the bytes it had (mailparser skips a part with none). */
  ended(bytes: number): void;
}

type Entry = { kind: 'string'; value: Pending } | { kind: 'part'; part: PartEntry; marker: string };

export interface AssembledBody<B> {
  /** The body when it is at most the limit ('' is no body: null). */
  inline: string | null;
  /** The body's blob when it is over the limit. */
  blob?: B;
}

export class BodyAssembler<B> {
  private readonly queue: Entry[] = [];
  private count = 0;
  /** The body with each part as its marker: compared with mailparser's own join at the end. */
  readonly shape: string[] = [];
  private held: string[] = [];
  private heldBytes = 0;
  private spill?: { stream: PassThrough; stored: Promise<B> };
  private running?: Promise<void>;
  private again = false;
  private failure?: Error;
  private reading?: Readable;
  /** Set by finish(): settled once the last entry is written, or on failure. */
  private drained?: { resolve: () => void; reject: (error: Error) => void };

  constructor(
    private readonly separator: string,
    private readonly inlineLimit: number,
    private readonly openBlob: (content: Readable) => Promise<B>,
  ) {}

  addString(value: Pending): void {
    this.queue.push({ kind: 'string', value });
    this.poke();
  }

  addPart(part: PartEntry, marker: string): void {
    this.queue.push({ kind: 'part', part, marker });
    this.poke();
  }

  /** Something an entry waits on may have changed: a node was seen, a part ended, the message ended. */
  poke(): void {
    this.again = true;
    // A failure is kept for finish() to report; nobody else awaits the run. A poke
    // that came while a run was ending is not lost: the run starts over.
    this.running ??= this.run()
      .catch((error: Error) => this.abort(error))
      .finally(() => {
        this.running = undefined;
        if (this.again) this.poke();
      });
  }

  /** Stops: the upload (if any) fails, the parts are no longer read. */
  abort(error: Error): void {
    this.failure ??= error;
    this.spill?.stream.destroy(error);
    this.reading?.destroy(error);
    this.drained?.reject(this.failure);
  }

  /**
   * After the message ended: waits for every entry (one may still wait on a
   * part of the other body), then for the upload.
   */
  async finish(): Promise<AssembledBody<B>> {
    await new Promise<void>((resolve, reject) => {
      this.drained = { resolve, reject };
      this.poke();
    });
    if (!this.spill) {
      const body = this.held.join('');
      return { inline: body === '' ? null : body };
    }
    this.spill.stream.end();
    return { inline: null, blob: await this.spill.stored };
  }

  /** The settled outcome of the upload, if one was started: for waiting on it after a failure. */
  settled(): Promise<unknown> {
    return this.spill ? this.spill.stored.catch(() => {}) : Promise.resolve();
  }

  private async run(): Promise<void> {
    this.again = false;
    while (this.queue.length > 0 && !this.failure) {
      const head = this.queue[0]!;
      if (head.kind === 'string') {
        const value = head.value();
        if (value === undefined) return;
        this.queue.shift();
        if (value !== null) {
          this.shape.push(value);
          await this.write(this.count++ > 0 ? this.separator + value : value);
        }
      } else {
        this.queue.shift();
        await this.readPart(head.part, head.marker);
      }
    }
    if (this.failure) this.drained?.reject(this.failure);
    else if (this.queue.length === 0) this.drained?.resolve();
  }

  private async readPart(part: PartEntry, marker: string): Promise<void> {
    const decoder = new BodyTextDecoder();
    let started = false;
    const put = async (text: string) => {
      if (text === '') return;
      if (!started) {
        started = true;
        this.shape.push(marker);
        if (this.count++ > 0) text = this.separator + text;
      }
      await this.write(text);
    };
    this.reading = part.content;
    for await (const chunk of part.content as AsyncIterable<Buffer | string>) {
      if (this.failure) throw this.failure;
      await put(decoder.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    }
    this.reading = undefined;
    await put(decoder.end());
    part.ended(decoder.bytes);
  }

  private async write(text: string): Promise<void> {
    if (!this.spill) {
      this.held.push(text);
      this.heldBytes += Buffer.byteLength(text, 'utf8');
      if (this.heldBytes <= this.inlineLimit) return;
      const stream = new PassThrough();
      this.spill = { stream, stored: this.openBlob(stream) };
      // The upload's failure is the body's: it ends the run at its next write, and finish() reports it.
      this.spill.stored.catch((error: Error) => this.abort(error));
      text = this.held.join('');
      this.held = [];
    }
    await writeTo(this.spill.stream, Buffer.from(text, 'utf8'));
  }
}

/** Writes with backpressure; rejects if the stream is destroyed meanwhile (its upload failed, or was aborted). */
export function writeTo(stream: Writable, chunk: Buffer): Promise<void> {
  if (stream.destroyed) return Promise.reject(new Error('the upload stopped reading'));
  if (stream.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', done);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the upload stopped reading'));
    stream.once('drain', onDrain);
    stream.once('close', onClose);
    stream.once('error', done);
  });
}
