import { main } from '../../shared/cli.js';

/**
 * Runs the command line in this process with `env` laid over the environment
 * (undefined removes a variable), as a shell would start it; the environment
 * is restored afterwards.
 */
export async function runCli(argv: string[], env: Record<string, string | undefined>): Promise<{ code: number; output: string }> {
  const saved = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  const output: string[] = [];
  try {
    const code = await main(argv, (line) => output.push(line));
    return { code, output: output.join('\n') };
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}
