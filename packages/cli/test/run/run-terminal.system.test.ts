// `bbox run -it` on a real host pseudo-terminal (Python's pty module), with real QEMU (TCG) and a
// real registry: a shell in the guest, typed commands, window resizes, Ctrl-C, the exit code, and
// the host terminal's settings restored.
import t from 'tap';
import { BBOX_BIN } from '../bbox-process.js';
import { startOnPty } from './pty-session.js';
import { runFixture } from './run-fixture.js';

t.test('an interactive shell on a guest terminal', async (t) => {
  const fx = await runFixture(t);
  const pty = startOnPty([process.execPath, BBOX_BIN, ...fx.runArgs(['-it', fx.ref, '--', 'sh'])], { cols: 100, rows: 30, env: fx.env, cwd: fx.sb.workdir });
  t.teardown(() => pty.close());
  const initial = await pty.initialSettings();
  const prompt = '/ # ';

  await pty.expect(prompt, 120);
  await pty.send('stty size; tty; echo "$TERM"; echo $((6 * 7))\r');
  const first = await pty.expect('42\\r\\n');
  t.match(first, /30 100\r\n\/dev\/hvc0\r\nxterm-256color\r\n/, 'the guest terminal has the host window size, and TERM comes from the host');
  t.notMatch(first, /\$\(\(6 \* 7\)\)\r\n.*\$\(\(6 \* 7\)\)/s, 'each typed character is echoed once, by the guest');

  // The resize reaches the guest through bbox's SIGWINCH handler, beside the typed input: ask
  // until the new size shows (bounded).
  await pty.resize(120, 40);
  let size = '';
  for (let i = 0; i < 20 && !/40 120/.test(size); i++) {
    await pty.send('stty size\r');
    size = await pty.expect('\\d+ \\d+\\r\\n');
  }
  t.match(size, /40 120/, 'stty size in the guest follows the host window');

  await pty.send("sh -c 'echo sleeping; exec sleep 100'\r");
  await pty.expect('sleeping\\r\\n');
  await pty.send('\x03');
  await pty.expect(prompt, 30);
  await pty.send('echo "still $((1 + 1))"\r');
  t.match(await pty.expect('still 2\\r\\n', 30), /still 2/, 'Ctrl-C stopped sleep 100 in the guest and the shell went on');

  await pty.send('exit 3\r');
  const end = await pty.wait(60);
  t.equal(end.code, 3, "exit 3 in the guest shell is bbox's exit code");
  t.equal(await pty.settings(), initial, 'the host terminal settings (stty -g) are as before');
});
