/** Writes schema/queue-message.schema.json from the zod schema in shared/queueMessage.ts. */
import { writeFileSync } from 'node:fs';
import { queueMessageJsonSchema } from '../shared/queueMessage.js';

const file = new URL('../schema/queue-message.schema.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(queueMessageJsonSchema(), null, 2)}\n`);
console.log(`Wrote ${file.pathname}`);
