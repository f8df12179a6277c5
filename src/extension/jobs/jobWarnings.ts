/**
 * A job's warnings as notifications. The log gets every one; the user sees the first at once
 * (a warning such as "the disk may be too small" comes before the long part, in time to cancel)
 * and the rest as one count when the job ends, so a task with fifty repeated texts does not bury
 * the window in toasts. No `vscode` import: the host passes how to show a toast.
 */
export class JobWarnings {
  private count = 0;

  constructor(
    private readonly kind: string,
    private readonly show: (text: string) => void,
  ) {}

  /** A warning already in the extension's words. */
  add(message: string): void {
    if (this.count++ === 0) this.show(`ProbeScale: ${message}`);
  }

  /** When the job has ended (done, failed or cancelled): the count of warnings not shown. */
  finish(): void {
    const more = this.count - 1;
    if (more > 0) this.show(`ProbeScale: the ${this.kind} job gave ${more} more ${more === 1 ? 'warning; it is' : 'warnings; they are'} in the log.`);
  }
}
