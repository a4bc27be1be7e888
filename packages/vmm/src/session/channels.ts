/**
 * Host ends of the guest channels: one unix socket server per virtio-serial port, in a private
 * directory. QEMU connects to each at start; program output is streamed to the caller's writables
 * as it arrives, status lines are parsed, the caller's stdin is streamed in (its end closes the
 * port, which the guest program reads as EOF), and control lines (signals, window sizes) go out.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { ChannelSpec } from '../host/backend.js';
import { cells, PORTS, type WindowSize } from '../guest/guest-init.js';

/** Where the program's bytes come from and go to. */
export interface ChannelIo {
  stdout: Writable;
  stderr: Writable;
  /** The program's stdin (none: /dev/null in the guest). */
  stdin?: Readable | undefined;
  /** The program runs on a terminal: its input and output travel through the `bbox.tty` console. */
  tty?: boolean | undefined;
  /** Sent on the `bbox.owners` port once settled, then the port is closed (its end ends the text). */
  owners?: Promise<string> | undefined;
}

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
  private readonly names: string[] = [];
  private control: Socket | undefined;
  /** Control lines written before the monitor connected. */
  private pending: string[] = [];

  private constructor(
    private readonly dir: string,
    private readonly io: ChannelIo,
  ) {}

  /** Listens in `dir` (which must exist, be private, and be short enough for socket paths). */
  static async open(dir: string, io: ChannelIo): Promise<HostChannels> {
    const ch = new HostChannels(dir, io);
    await ch.listen(PORTS.stdout, (s) => ch.pipeTo(s, io.stdout));
    await ch.listen(PORTS.stderr, (s) => ch.pipeTo(s, io.stderr));
    await ch.listen(PORTS.status, (s) => ch.readStatus(s));
    await ch.listen(PORTS.control, (s) => ch.openControl(s));
    if (io.tty) await ch.listen(PORTS.tty, (s) => ch.openTerminal(s));
    else if (io.stdin) await ch.listen(PORTS.stdin, (s) => ch.feed(s, true));
    const owners = io.owners;
    // A failure to make the script is reported by the run; the guest sees the port close early.
    if (owners) await ch.listen(PORTS.owners, (s) => void owners.then((text) => s.end(text), () => s.destroy()));
    return ch;
  }

  /** The channel list for the machine config (the terminal, when there is one, as a console). */
  specs(): ChannelSpec[] {
    return this.names.map((name) => ({ name, socketPath: this.socketPath(name), ...(name === PORTS.tty ? { console: true } : {}) }));
  }

  /** Asks the guest to send signal number `signo` to the program (dropped before it runs). */
  signal(signo: number): void {
    this.send(`signal ${Math.floor(signo)}`);
  }

  /** Sets the guest terminal's size (the program gets SIGWINCH); no effect without a terminal. */
  resize(size: WindowSize): void {
    this.send(`winsize ${cells(size.rows)} ${cells(size.cols)}`);
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
    this.io.stdin?.unpipe();
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
    this.names.push(name);
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

  private send(line: string): void {
    if (this.control) this.control.write(line + '\n');
    else this.pending.push(line);
  }

  private openControl(socket: Socket): void {
    this.control = socket;
    for (const line of this.pending) socket.write(line + '\n');
    this.pending = [];
  }

  /** The terminal console: output to stdout (stderr shares it, as on any terminal), input from stdin. */
  private openTerminal(socket: Socket): void {
    this.pipeTo(socket, this.io.stdout);
    if (this.io.stdin) this.feed(socket, false);
  }

  /**
   * Streams the caller's stdin into the guest. With `end`, the end of stdin closes the port, which
   * the guest program reads as end of file; a terminal stays open (its EOF is the ^D byte).
   */
  private feed(socket: Socket, end: boolean): void {
    this.io.stdin?.pipe(socket, { end });
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
