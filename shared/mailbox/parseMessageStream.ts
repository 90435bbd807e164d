/**
 * Parses a message as it streams in, with mailparser's streaming MailParser,
 * into the same fields parseMessage() takes from simpleParser, without ever
 * holding the message, an attachment or a large body whole:
 *
 * - each attachment is handed to `stores.attachment` as a stream as soon as
 *   mailparser reaches it, and released (mailparser moves on) once stored;
 * - the text and the html are assembled in the order mailparser joins them
 *   (bodyAssembler.ts): in memory up to INLINE_BODY_LIMIT, and beyond it
 *   streamed, as they come, to `stores.body`.
 *
 * simpleParser buffers every attachment and MailParser buffers every text part
 * (`node.textContent`); here a hook on each MIME node MailParser creates takes
 * over the reading of its text part instead. What MailParser would have made of
 * the bodies is checked at the end against what was streamed: each streamed
 * part stands in mailparser's own join as a marker, and the two joins must be
 * equal, or the message fails (nothing is sent) rather than being sent different.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { MailParser } from 'mailparser';
import { INLINE_BODY_LIMIT } from '../contract/queueMessage.js';
import { BodyAssembler, writeTo, type AssembledBody, type PartEntry } from './bodyAssembler.js';
import { attachmentFields, headerFields, ParseError, PARSER_OPTIONS, type HeaderFields, type HeaderSource, type ParsedAttachment } from './parseMessage.js';

export type AttachmentFields = Omit<ParsedAttachment, 'content'>;

/** Where the streamed content goes; each call's stream must be read to its end (or the parse stalls). */
export interface StreamStores<A, B> {
  attachment(index: number, fields: AttachmentFields, content: Readable): Promise<A>;
  body(kind: 'text' | 'html', content: Readable): Promise<B>;
}

export interface StreamedMessage<A, B> extends HeaderFields {
  text: AssembledBody<B>;
  html: AssembledBody<B>;
  /** In mailparser's order, as parseMessage() lists them. */
  attachments: (AttachmentFields & { stored: A })[];
}

/** A MIME node as MailParser 3.9 keeps it in its tree (lib/mail-parser.js, createNode). */
interface TreeNode {
  contentType?: string;
  root?: boolean;
  parent?: TreeNode;
  showMeta?: boolean;
  isAttachment?: boolean;
  contentStream?: Readable;
  textContent?: string;
  headers: Map<string, unknown>;
  children: TreeNode[];
}

interface ParserState {
  tree: TreeNode | false;
  curnode: TreeNode | false;
  hasText: boolean;
  hasHtml: boolean;
  text: unknown;
  html: unknown;
  textAsHtml: unknown;
  headerLines: HeaderSource['headerLines'];
  getTextContent(): { text?: string; html?: string };
}

type ProcessChunk = (data: { type: string }, done: (error?: Error) => void) => void;
const processChunk = (MailParser.prototype as unknown as { processChunk: ProcessChunk }).processChunk;

/** MailParser, telling `seen` of each MIME node right after creating it (before any of its content is read). */
class NodeWatchingParser extends MailParser {
  constructor(private readonly seen: (node: TreeNode) => void) {
    super(PARSER_OPTIONS);
  }

  processChunk(data: { type: string }, done: (error?: Error) => void): void {
    processChunk.call(this, data, done);
    const node = (this as unknown as ParserState).curnode;
    if (data.type === 'node' && node) this.seen(node);
  }
}

/** The largest piece written to MailParser at once (see the loop that feeds it). */
const PARSER_CHUNK_BYTES = 64 * 1024;

/** The top-level header keys simpleParser copies onto the parsed mail (lib/simple-parser.js). */
const MAIL_HEADER_KEYS = ['subject', 'references', 'date', 'to', 'from', 'cc', 'bcc', 'message-id', 'in-reply-to', 'reply-to'];

/** Parses `source`; throws ParseError when mailparser cannot make sense of it, or the first failure of `source` or a store. */
export async function parseMessageStream<A, B>(source: Readable, stores: StreamStores<A, B>, inlineLimit = INLINE_BODY_LIMIT): Promise<StreamedMessage<A, B>> {
  const run = randomUUID();
  let parts = 0;
  let finished = false;
  let failure: Error | undefined;
  const text = new BodyAssembler<B>('\n', inlineLimit, (content) => stores.body('text', content));
  const html = new BodyAssembler<B>('<br/>\n', inlineLimit, (content) => stores.body('html', content));
  const pokeBoth = () => {
    text.poke();
    html.poke();
  };

  const parser = new NodeWatchingParser(seen);
  const state = parser as unknown as ParserState;

  /** The entries this node adds to each body, as getTextContent() would push them. */
  function seen(node: TreeNode): void {
    if (!inTree(node, state.tree)) {
      // Left out of mailparser's tree (it "should never happen"): its text is in no body; read and dropped.
      if (node.contentStream && !node.isAttachment) detach(node.contentStream).resume();
      return;
    }
    const alternative = ancestors(node).some((a) => a.contentType === 'multipart/alternative');
    if (node.showMeta) {
      const meta = metaOf(node);
      text.addString(() => (state.hasText ? meta.text : finished ? null : undefined));
      html.addString(() => (state.hasHtml ? meta.html : finished ? null : undefined));
    }
    if (node.contentStream && !node.isAttachment) {
      const marker = `\u0000part ${run} ${parts++}\u0000`;
      let bytes: number | undefined;
      const part: PartEntry = {
        content: detach(node.contentStream),
        ended: (n) => {
          bytes = n;
          node.textContent = n > 0 ? marker : '';
          pokeBoth();
        },
      };
      // Whether this part is in the body at all: not before it has ended, and not when it had no bytes.
      const present = () => (bytes === undefined ? undefined : bytes > 0);
      if (node.contentType === 'text/html') {
        html.addPart(part, marker);
        text.addString(() => {
          const p = present();
          if (!p) return p === undefined ? undefined : null;
          if (state.hasText) return alternative ? null : '';
          return finished ? (node.root ? '' : null) : undefined;
        });
      } else {
        text.addPart(part, marker);
        html.addString(() => {
          const p = present();
          if (!p) return p === undefined ? undefined : null;
          if (alternative) return null;
          return state.hasHtml ? '' : finished ? null : undefined;
        });
      }
    }
    pokeBoth();
  }

  /** An embedded message's header summary, made by mailparser's own getTextContent() on a tree of that node alone. */
  function metaOf(node: TreeNode): { text: string; html: string } {
    const saved = { tree: state.tree, hasText: state.hasText, hasHtml: state.hasHtml, text: state.text, html: state.html, textAsHtml: state.textAsHtml };
    try {
      state.tree = { showMeta: true, headers: node.headers, children: [] };
      state.hasText = state.hasHtml = true;
      const made = state.getTextContent();
      return { text: made.text ?? '', html: made.html ?? '' };
    } finally {
      Object.assign(state, saved);
    }
  }

  const attachments: StreamedMessage<A, B>['attachments'] = [];
  const uploads: Promise<unknown>[] = [];
  const open = new Set<Readable>();
  const fail = (error: Error) => {
    if (failure) return;
    failure = error;
    text.abort(error);
    html.abort(error);
    for (const content of open) content.destroy(error);
    parser.destroy();
  };

  let headers: Map<string, unknown> | undefined;
  let headerLines: HeaderSource['headerLines'] | undefined;
  parser.on('headers', (h: Map<string, unknown>) => {
    headers = h;
    headerLines = state.headerLines;
  });
  parser.on('data', (data: { type: string; content?: Readable; release?: () => void } & Parameters<typeof attachmentFields>[0]) => {
    if (data.type !== 'attachment' || !data.content) return;
    const content = data.content;
    const fields = attachmentFields(data);
    const entry = { ...fields, stored: undefined as A };
    const index = attachments.push(entry) - 1;
    open.add(content);
    uploads.push(
      stores.attachment(index, fields, content).then(
        (stored) => {
          entry.stored = stored;
          open.delete(content);
          // Only now may mailparser go on to the next part: one attachment's upload at a time.
          data.release?.();
        },
        (error: Error) => fail(error),
      ),
    );
  });
  const parsed = new Promise<void>((resolve) => {
    parser.on('error', (error: Error) => fail(new ParseError(`mailparser could not parse the message: ${error.message}`, { cause: error })));
    parser.once('end', resolve);
    parser.once('close', resolve);
  });

  try {
    for await (const chunk of source) {
      // mailsplit's ChunkedPassthrough queues 16 chunks of whatever size it is given: at most 64 KiB each keeps that 1 MiB.
      for (let at = 0; at < (chunk as Buffer).length && !failure; at += PARSER_CHUNK_BYTES) {
        await writeTo(parser, (chunk as Buffer).subarray(at, at + PARSER_CHUNK_BYTES));
      }
      if (failure) break;
    }
    if (!failure) parser.end();
  } catch (error) {
    fail(failure ?? (error as Error));
  }
  await parsed;
  finished = true;
  pokeBoth();
  await Promise.all(uploads);
  const bodies = await Promise.allSettled([text.finish(), html.finish()]);
  for (const b of bodies) if (b.status === 'rejected') fail(b.reason as Error);
  if (failure) {
    await Promise.allSettled([text.settled(), html.settled()]);
    throw failure;
  }
  if (!headers) throw new ParseError('mailparser found no headers in the message');
  const made = state.getTextContent();
  if (text.shape.join('\n') !== (made.text ?? '') || html.shape.join('<br/>\n') !== (made.html ?? '')) {
    throw new Error('the streamed bodies are not what mailparser made of the message: stream-parsing must not send it');
  }

  const mail: Record<string, unknown> = { headerLines };
  for (const key of MAIL_HEADER_KEYS) {
    if (headers.has(key)) mail[key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())] = headers.get(key);
  }
  return {
    ...headerFields(mail as unknown as HeaderSource),
    text: (bodies[0] as PromiseFulfilledResult<AssembledBody<B>>).value,
    html: (bodies[1] as PromiseFulfilledResult<AssembledBody<B>>).value,
    attachments,
  };
}

/**
 * Takes a text part's stream away from MailParser, which would gather it whole
 * into `node.textContent`: its two listeners are the last it added ('readable'
 * collects, 'end' joins); its 'error' listener stays, so a broken part still
 * fails the parse.
 */
function detach(stream: Readable): Readable {
  const collect = stream.listeners('readable').at(-1);
  const join = stream.rawListeners('end').at(-1);
  if (collect) stream.removeListener('readable', collect as () => void);
  if (join) stream.removeListener('end', join as () => void);
  return stream;
}

function ancestors(node: TreeNode): TreeNode[] {
  const up: TreeNode[] = [];
  for (let p = node.parent; p; p = p.parent) up.push(p);
  return up;
}

function inTree(node: TreeNode, tree: TreeNode | false): boolean {
  return node === tree || ancestors(node).at(-1) === tree;
}
