/**
 * Host ends of the guest channels: one unix socket server per virtio-serial port, in a private
 * directory. QEMU connects to each at start; program output is streamed to the caller's writables
 * as it arrives, status lines are parsed.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { ChannelSpec } from './backend.js';
import { PORTS } from './guest-init.js';

/** What the guest reported on the status channel. */
export interface GuestStatus {
  started: boolean;
  exitCode?: number;
  failure?: string;
}

/** The three channels of one VM. */
export class HostChannels {
  readonly status: GuestStatus = { started: false };
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly drained: Promise<void>[] = [];
  private onStatus: (() => void) | undefined;

  private constructor(
    private readonly dir: string,
    private readonly stdout: Writable,
    private readonly stderr: Writable,
  ) {}

  /** Listens in `dir` (which must exist, be private, and be short enough for socket paths). */
  static async open(dir: string, stdout: Writable, stderr: Writable): Promise<HostChannels> {
    const ch = new HostChannels(dir, stdout, stderr);
    await ch.listen(PORTS.stdout, (s) => ch.pipeTo(s, ch.stdout));
    await ch.listen(PORTS.stderr, (s) => ch.pipeTo(s, ch.stderr));
    await ch.listen(PORTS.status, (s) => ch.readStatus(s));
    return ch;
  }

  /** The channel list for the machine config. */
  specs(): ChannelSpec[] {
    return [PORTS.stdout, PORTS.stderr, PORTS.status].map((name) => ({ name, socketPath: this.socketPath(name) }));
  }

  /** Calls `fn` on every status change. */
  watch(fn: () => void): void {
    this.onStatus = fn;
  }

  /** Resolves when every connected channel has delivered all its data (the monitor closed it). */
  async drain(): Promise<void> {
    await Promise.all(this.drained);
  }

  /** Stops listening and drops connections. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((srv) => new Promise((r) => srv.close(r))));
  }

  private socketPath(name: string): string {
    return join(this.dir, name.replace(/^bbox\./, '') + '.sock');
  }

  private async listen(name: string, onSocket: (s: Socket) => void): Promise<void> {
    const server = createServer((socket) => {
      this.sockets.add(socket);
      this.drained.push(once(socket, 'close').then(() => undefined));
      socket.on('error', () => undefined);
      onSocket(socket);
    });
    this.servers.push(server);
    server.listen(this.socketPath(name));
    await once(server, 'listening');
  }

  private pipeTo(socket: Socket, dest: Writable): void {
    socket.on('data', (d: Buffer) => {
      if (!dest.write(d)) {
        socket.pause();
        dest.once('drain', () => socket.resume());
      }
    });
  }

  private readStatus(socket: Socket): void {
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.statusLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  }

  private statusLine(line: string): void {
    if (line === 'started') this.status.started = true;
    else if (/^exit \d+$/.test(line)) this.status.exitCode = Number(line.slice(5));
    else if (line.startsWith('fail ')) this.status.failure = line.slice(5);
    else return;
    this.onStatus?.();
  }
}
