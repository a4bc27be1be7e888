import { setTimeout as delay } from 'node:timers/promises';

/**
 * A shared link of `bytesPerSecond`: every response body through the proxy draws from it, so
 * concurrent downloads split the bandwidth as on a real WAN link. `take(n)` resolves when the link
 * has had time to carry `n` more bytes.
 */
export class Link {
  private nextFree = 0;
  constructor(private readonly bytesPerSecond: number) {}

  async take(n: number): Promise<void> {
    const now = performance.now();
    const start = Math.max(now, this.nextFree);
    this.nextFree = start + (n / this.bytesPerSecond) * 1000;
    const wait = this.nextFree - now;
    // Pacing, not synchronisation: below a millisecond the timer would only add jitter.
    if (wait >= 1) await delay(wait);
  }
}
