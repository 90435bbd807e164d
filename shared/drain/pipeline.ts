/**
 * Steps in flight at once, bounded by count and by bytes: while one step's
 * messages are handed off to Storage, the next is fetched from the mailbox.
 * A step's task never rejects into the void: its error is kept, and `idle()`
 * waits for every task that was started.
 */
export class Pipeline {
  private readonly running = new Set<Promise<void>>();
  private bytes = 0;

  constructor(
    private readonly maxSteps: number,
    private readonly maxBytes: number,
  ) {}

  /** Waits until a step of `bytes` fits beside those in flight; one step always fits when nothing is. */
  async room(bytes: number): Promise<void> {
    while (this.running.size > 0 && (this.running.size >= this.maxSteps || this.bytes + bytes > this.maxBytes)) {
      await Promise.race(this.running);
    }
  }

  /** Starts a step's task holding `bytes` until it ends; failures go to `onError`. */
  start(bytes: number, task: () => Promise<void>, onError: (error: unknown) => void): void {
    this.bytes += bytes;
    const running: Promise<void> = task()
      .catch(onError)
      .finally(() => {
        this.bytes -= bytes;
        this.running.delete(running);
      });
    this.running.add(running);
  }

  /** Waits until nothing is in flight. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.race(this.running);
  }
}
