/**
 * The demo mailbox: the kinds of mail a shared mailbox really receives, built
 * with nodemailer's MIME composer so each one is well-formed.
 */
import { deflateSync, crc32 } from 'node:zlib';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';

export interface DemoMessage {
  /** What the message shows off, for the summary and the tests. */
  kind: string;
  subject: string;
  raw: Buffer;
  attachments: { filename: string; contentType: string; size: number }[];
}

const STATEMENT_CSV = 'invoice,due,amount\n2026-0017,2026-11-30,1250.00\n';

function compose(options: Mail.Options): Promise<Buffer> {
  return new MailComposer(options).compile().build();
}

/** A valid PNG of a colour gradient (an inline logo), without an image library. */
export function demoPng(width = 48, height = 48): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body) >>> 0, 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 3);
    for (let x = 0; x < width; x++) rows.set([(x * 255) / width, (y * 255) / height, 160], row + 1 + x * 3);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A valid one-page PDF of about `minBytes`, padded with an uncompressed content stream. */
export function demoPdf(minBytes = 150 * 1024): Buffer {
  const lines = ['BT /F1 18 Tf 72 720 Td (Invoice 2026-0042) Tj ET'];
  for (let i = 0; lines.join('\n').length < minBytes; i++) {
    lines.push(`BT /F1 9 Tf 72 ${700 - (i % 60) * 10} Td (Line ${i}: 1 x consulting hour at 120.00 EUR) Tj ET`);
  }
  const stream = lines.join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  pdf += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

/** The demo messages, oldest first. `mailbox` is the address they were sent to, `name` its display name. */
export async function demoMessages(mailbox: string, name = 'Invoices'): Promise<DemoMessage[]> {
  const base = { to: `${name} <${mailbox}>`, date: new Date('2026-11-20T08:00:00Z') };
  const png = demoPng();
  const pdf = demoPdf();
  const forwardedOriginal = await compose({
    from: 'Supplier Billing <billing@supplier.example>',
    to: 'accounts@customer.example',
    subject: 'Reminder: invoice 2026-0017 is due',
    text: 'Dear customer,\n\ninvoice 2026-0017 is due on 30 November.\n\nKind regards,\nSupplier Billing',
    messageId: '<reminder-0017@supplier.example>',
    date: new Date('2026-11-18T10:00:00Z'),
    attachments: [{ filename: 'statement-0017.csv', content: STATEMENT_CSV, contentType: 'text/csv' }],
  });
  const longReport = Array.from(
    { length: 2500 },
    (_, i) => `Row ${String(i + 1).padStart(4, '0')}: order ${100000 + i} shipped to warehouse ${i % 7}, status OK`,
  ).join('\n');

  const specs: { kind: string; options: Mail.Options; attachments?: DemoMessage['attachments'] }[] = [
    {
      kind: 'plain text',
      options: {
        ...base,
        from: 'Alice Example <alice@example.com>',
        subject: 'Order 1001: please confirm delivery date',
        text: 'Hello,\n\ncould you confirm the delivery date for order 1001?\n\nThanks,\nAlice',
        messageId: '<order-1001@example.com>',
      },
    },
    {
      kind: 'HTML only',
      options: {
        ...base,
        from: 'Newsletter <news@vendor.example>',
        subject: 'Your monthly statement is ready',
        html: '<html><body><h1>Statement ready</h1><p>Your <b>November</b> statement is available.</p></body></html>',
      },
    },
    {
      kind: 'multipart/alternative',
      options: {
        ...base,
        from: 'Bob Builder <bob@builder.example>',
        cc: 'Carol <carol@builder.example>',
        replyTo: 'Support <support@builder.example>',
        subject: 'Quote for the new warehouse shelves',
        text: 'Hi,\n\nthe quote is 4,200 EUR, valid until 31 December.\n\nBob',
        html: '<p>Hi,</p><p>the quote is <strong>4,200 EUR</strong>, valid until 31 December.</p><p>Bob</p>',
      },
    },
    {
      kind: 'non-ASCII subject and body',
      options: {
        ...base,
        from: 'Jürgen Müller <juergen@müller.example>',
        subject: 'Rechnung Nr. 4711 – Grüße aus Zürich ✓ 請求書',
        text: 'Grüezi,\n\nanbei die Übersicht: 3 × Ölfilter à 12,50 € — Lieferung nach Malmö.\n日本語のテキストも含まれています。\n',
        inReplyTo: '<order-1001@example.com>',
        references: ['<order-1001@example.com>'],
      },
    },
    {
      kind: 'inline image',
      options: {
        ...base,
        from: 'Design Team <design@agency.example>',
        subject: 'New logo proof',
        html: '<p>Here is the proof:</p><img src="cid:logo@agency.example" alt="logo">',
        attachments: [{ filename: 'logo.png', content: png, cid: 'logo@agency.example', contentType: 'image/png' }],
      },
      attachments: [{ filename: 'logo.png', contentType: 'image/png', size: png.length }],
    },
    {
      kind: 'PDF attachment over 100 KB',
      options: {
        ...base,
        from: 'Supplier Billing <billing@supplier.example>',
        subject: 'Invoice 2026-0042',
        text: 'Please find invoice 2026-0042 attached.',
        attachments: [{ filename: 'invoice-2026-0042.pdf', content: pdf, contentType: 'application/pdf' }],
      },
      attachments: [{ filename: 'invoice-2026-0042.pdf', contentType: 'application/pdf', size: pdf.length }],
    },
    {
      kind: 'forwarded message',
      options: {
        ...base,
        from: 'Dave Accounts <dave@customer.example>',
        subject: 'Fwd: Reminder: invoice 2026-0017 is due',
        text: 'Forwarding the reminder below for processing.\n\nDave',
        attachments: [{ filename: 'reminder.eml', content: forwardedOriginal, contentType: 'message/rfc822' }],
      },
      // mailparser shows an embedded message inline in `text` and lifts its attachments out.
      attachments: [{ filename: 'statement-0017.csv', contentType: 'text/csv', size: Buffer.byteLength(STATEMENT_CSV) }],
    },
    {
      kind: 'larger than a queue message',
      options: {
        ...base,
        from: 'Warehouse System <noreply@warehouse.example>',
        subject: 'Daily shipping report (2,500 rows)',
        text: longReport,
      },
    },
  ];

  return Promise.all(
    specs.map(async (spec) => ({
      kind: spec.kind,
      subject: spec.options.subject as string,
      raw: await compose(spec.options),
      attachments: spec.attachments ?? [],
    })),
  );
}
