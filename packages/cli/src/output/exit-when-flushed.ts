/**
 * Ends the process with `code` once stdout has taken everything written to it. Exiting explicitly
 * matters: idle keep-alive sockets must not hold the process open after the work is done.
 */
export function exitWhenFlushed(code: number): void {
  process.stdout.write('', () => process.exit(code));
}
