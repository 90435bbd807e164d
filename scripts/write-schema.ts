/** Writes the JSON Schemas in schema/ from the zod schemas in shared/contract/queueMessage.ts. */
import { writeFileSync } from 'node:fs';
import { poisonMessageJsonSchema, queueMessageJsonSchema } from '../shared/contract/queueMessage.js';

for (const [name, schema] of [
  ['queue-message.schema.json', queueMessageJsonSchema()],
  ['poison-message.schema.json', poisonMessageJsonSchema()],
] as const) {
  const file = new URL(`../schema/${name}`, import.meta.url);
  writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`Wrote ${file.pathname}`);
}
