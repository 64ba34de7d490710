/**
 * Uploads in order, one at a time, with bounded retries: a recording's
 * segments must all arrive, and the playlist only after them.
 */
export type Upload = () => Promise<void>;

export class UploadQueue {
  private tail: Promise<void> = Promise.resolve();
  private failed = 0;

  constructor(
    private readonly log: (message: string) => void,
    private readonly attempts = 4,
    private readonly backoffMs = 500,
  ) {}

  get failures(): number {
    return this.failed;
  }

  push(label: string, upload: Upload): Promise<void> {
    this.tail = this.tail.then(async () => {
      for (let attempt = 1; attempt <= this.attempts; attempt++) {
        try {
          await upload();
          return;
        } catch (error) {
          if (attempt === this.attempts) {
            this.failed++;
            this.log(`upload of ${label} failed after ${attempt} attempts: ${(error as Error).message}`);
            return;
          }
          await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** (attempt - 1)));
        }
      }
    });
    return this.tail;
  }

  /** Resolves once everything queued so far is done (or given up). */
  drain(): Promise<void> {
    return this.tail;
  }
}
