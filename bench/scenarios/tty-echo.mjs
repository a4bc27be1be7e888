// The keystroke echo round trip of `bbox run -it`: a byte written to the host pseudo-terminal
// travels through bbox, QEMU and the guest's virtio console to the guest terminal, whose line
// discipline echoes it back the same way. `cat` runs on the guest terminal (canonical mode, echo
// on); the reference image and its disk are cached; TCG, as on a host without KVM. The host
// terminal is a real one (the pty driver of the CLI's tests, Python's pty module).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { bboxArgv, bboxEnv, cliMissing, ROOT } from '../lib/bbox.mjs';
import { median, NotMeasuredError, reasonOf, summariseSide } from '../lib/interleave.mjs';
import { atMost, makeRow } from '../lib/rows.mjs';
import { referenceWarmCache } from '../lib/warm-cache.mjs';

const ID = 'tty-echo';
const SCENARIO = 'keystroke echo round trip under `bbox run -it` (host pty → guest → host), TCG';
const TARGET = '≤ 20 ms median over 50 keystrokes';
const KEYSTROKES = 50;
const DRIVER = join(ROOT, 'packages/cli/test/run/pty-driver.py');

/** Starts `argv` on a pseudo-terminal; `ask(request)` sends one driver request and resolves with its reply. */
function onPty(argv, env) {
  const child = spawn('python3', [DRIVER, '100', '30', '--', ...argv], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const pending = [];
  createInterface({ input: child.stdout }).on('line', (line) => pending.shift()?.(JSON.parse(line)));
  const ask = (req) =>
    new Promise((resolve) => {
      pending.push(resolve);
      child.stdin.write(JSON.stringify(req) + '\n');
    });
  return { ask, close: () => child.kill() };
}

export async function ttyEcho(ctx) {
  const image = ctx.reference.big;
  ctx.log(`keystroke echo under bbox run -it, ${image.ref}`);
  let reason = cliMissing();
  let samples = [];
  if (!reason) {
    const session = { close: () => undefined };
    try {
      const cache = await referenceWarmCache(ctx);
      const env = await bboxEnv(ctx.benchDir, { TERM: 'xterm' });
      const pty = onPty(bboxArgv(['run', '--cache-dir', cache.dir, '--accel', 'tcg', '-it', image.ref, '--', 'sh', '-c', 'echo ready; exec cat']), env);
      session.close = pty.close;
      // Printed in the guest: the host terminal is raw by then (it is before the VM starts), so
      // every echo from here on comes from the guest terminal, not from the host's.
      const ready = await pty.ask({ op: 'expect', re: 'ready\\r\\n', timeout: 120 });
      if (!ready.ok) throw new NotMeasuredError(`the guest program did not start within 120 s: ${JSON.stringify(ready.text?.slice(-300))}`);
      const echo = await pty.ask({ op: 'echo', data: 'x', count: KEYSTROKES });
      if (echo.ms.some((ms) => ms >= 10_000)) throw new NotMeasuredError('a keystroke got no echo within 10 s');
      // End of the line, then end of file: cat exits 0 and so does bbox.
      await pty.ask({ op: 'send', data: '\r\x04' });
      const end = await pty.ask({ op: 'wait', timeout: 60 });
      if (!end.ok || end.code !== 0) throw new NotMeasuredError(`bbox run -it did not end with 0 after end of file: ${JSON.stringify(end)}`);
      samples = echo.ms.map((wallMs) => ({ wallMs }));
    } catch (err) {
      reason = reasonOf(err);
    } finally {
      session.close();
    }
  }
  return [
    makeRow({
      id: ID,
      scenario: SCENARIO,
      target: TARGET,
      bbox: summariseSide('bbox', 'bbox run -it … -- cat', samples, reason),
      figures: { keystrokes: KEYSTROKES, accel: 'tcg' },
      checks: [atMost('median echo round trip', samples.length ? median(samples.map((s) => s.wallMs)) : undefined, 20, 'ms')],
    }),
  ];
}
