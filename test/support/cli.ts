import { main } from '../../shared/operate/cli.js';

/**
 * Runs the command line in this process with `env` laid over the environment
 * (undefined removes a variable), as a shell would start it; the environment
 * is restored afterwards. `output` is what it printed on stdout, `log` what
 * it wrote to stderr (the drain's log lines), which still reaches stderr too.
 */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number; output: string; log: string }> {
  const saved = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  const output: string[] = [];
  const log: string[] = [];
  const stderr = console.error;
  console.error = (...args: unknown[]) => {
    log.push(args.map(String).join(' '));
    stderr(...args);
  };
  try {
    const code = await main(argv, (line) => output.push(line));
    return { code, output: output.join('\n'), log: log.join('\n') };
  } finally {
    console.error = stderr;
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}
