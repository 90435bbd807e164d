/**
 * Ends a soak's process the moment it exits, with the exit code node:test set,
 * skipping Node's teardown of whatever is still open. Once, on CI, a kill-loop
 * process that had started and killed a hundred drains printed its last result
 * and then spun in that teardown (Environment::CleanupHandles, one core busy,
 * tsx's esbuild child left a zombie) until the run was stopped: the results
 * were in and CI hung on them. process.exit() inside 'exit' goes straight to
 * the exit. Call it after the file's test()s, so node:test's listeners run first.
 */
export function exitPromptly(): void {
  process.once('exit', (code) => process.exit(code));
}
