import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pushImage, startRegistry } from '@broodbox/testkit';
import { BBOX_BIN, makeSandbox, type BboxResult, type Sandbox } from '../bbox-process.js';
import { appImage } from '../registry-fixture.js';

const USER = 'alice';
const PASSWORD = 'correct horse battery';
const reg = await startRegistry({ auth: { kind: 'htpasswd', users: { [USER]: PASSWORD } } });
t.teardown(() => reg.stop());
const img = appImage('1');
await pushImage(reg.url, 'private/app', img, { tag: 'v1', auth: { username: USER, password: PASSWORD } });
const ref = `${reg.host}/private/app:v1`;

async function sandbox(t: Test): Promise<Sandbox> {
  const sb = await makeSandbox();
  t.teardown(() => sb.cleanup());
  return sb;
}

/** Runs bbox in the sandbox with `input` on stdin (a pipe, not a terminal). */
function withStdin(sb: Sandbox, args: string[], input: string, env: Record<string, string> = {}): Promise<BboxResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BBOX_BIN, ...args], { cwd: sb.workdir, env: { ...sb.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const pull = (sb: Sandbox, env: Record<string, string> = {}) => sb.run(['pull', '--json', '--pull', 'always', '--cache-dir', join(sb.root, 'c'), ref], { env });

t.test('login against an htpasswd registry, pull, logout, and the pull is refused', async (t) => {
  const sb = await sandbox(t);
  const config = join(sb.home, '.docker', 'config.json');
  const wrong = await withStdin(sb, ['login', '-u', USER, '--password-stdin', reg.host], 'not the password\n');
  t.equal(wrong.code, 4, wrong.stderr);
  t.match(wrong.stderr, /refused/);
  await t.rejects(stat(config), { code: 'ENOENT' }, 'nothing stored for refused credentials');

  const refusedBefore = await pull(sb);
  t.equal(refusedBefore.code, 4, 'anonymous pull refused');

  const ok = await withStdin(sb, ['login', '-u', USER, '--password-stdin', `http://${reg.host}/`], `${PASSWORD}\n`);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, `Login Succeeded: credentials for ${reg.host} stored in ${config}`);
  t.equal((await stat(config)).mode & 0o777, 0o600, 'config.json is 0600');
  const stored = JSON.parse(await readFile(config, 'utf8')) as { auths: Record<string, { auth: string }> };
  t.equal(Buffer.from(stored.auths[reg.host]?.auth ?? '', 'base64').toString(), `${USER}:${PASSWORD}`);

  const pulled = await pull(sb);
  t.equal(pulled.code, 0, pulled.stderr);
  t.equal(JSON.parse(pulled.stdout).digest, img.digest);

  const out = await sb.run(['logout', reg.host]);
  t.equal(out.code, 0, out.stderr);
  t.match(out.stdout, `Removed the credentials for ${reg.host}`);
  t.same(JSON.parse(await readFile(config, 'utf8')).auths, {}, 'entry removed');
  const refused = await pull(sb);
  t.equal(refused.code, 4, 'refused after logout');
  t.match(refused.stderr, /refused access|no credentials/);
  const again = await sb.run(['logout', reg.host]);
  t.match(again.stdout, `Not logged in to ${reg.host}`);
});

t.test('login keeps the rest of the docker config and stores through its credsStore helper', async (t) => {
  const sb = await sandbox(t);
  const bin = join(sb.root, 'bin');
  const store = join(sb.root, 'helper-store.json');
  // A real credential helper program, as docker-credential-* are: store/get/erase on stdin.
  await sb.write(
    join(bin, 'docker-credential-testhelper'),
    `#!/bin/sh
case "$1" in
  store) cat > "${store}" ;;
  get) read server; if [ -f "${store}" ]; then sed 's/"ServerURL":"[^"]*",//' "${store}"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) rm -f "${store}" ;;
esac
`,
  );
  await chmod(join(bin, 'docker-credential-testhelper'), 0o755);
  const config = join(sb.home, '.docker', 'config.json');
  await sb.write(config, JSON.stringify({ credsStore: 'testhelper', proxies: { keep: 'me' } }));
  const env = { PATH: `${bin}:${process.env.PATH ?? ''}` };
  const ok = await withStdin(sb, ['login', '-u', USER, '--password-stdin', reg.host], PASSWORD, env);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, 'stored in docker-credential-testhelper');
  t.same(JSON.parse(await readFile(store, 'utf8')), { ServerURL: reg.host, Username: USER, Secret: PASSWORD }, 'the helper got them');
  const cfg = JSON.parse(await readFile(config, 'utf8'));
  t.same(cfg.proxies, { keep: 'me' }, 'other keys kept');
  t.notMatch(JSON.stringify(cfg), PASSWORD, 'no secret in the file');
  t.equal((await pull(sb, env)).code, 0, 'pull with the helper');
  t.equal((await sb.run(['logout', reg.host], { env })).code, 0);
  await t.rejects(stat(store), { code: 'ENOENT' }, 'the helper erased them');
});

t.test('credentials from a containers auth.json (REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR) when the docker config has none', async (t) => {
  const sb = await sandbox(t);
  const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  const file = await sb.write(join(sb.root, 'auth.json'), JSON.stringify({ auths: { [`${reg.host}/private`]: { auth } } }));
  const viaFile = await pull(sb, { REGISTRY_AUTH_FILE: file });
  t.equal(viaFile.code, 0, viaFile.stderr);
  const runtime = join(sb.root, 'run');
  await sb.write(join(runtime, 'containers', 'auth.json'), JSON.stringify({ auths: { [reg.host]: { auth } } }));
  const viaRuntime = await pull(sb, { XDG_RUNTIME_DIR: runtime });
  t.equal(viaRuntime.code, 0, viaRuntime.stderr);
  await writeFile(join(runtime, 'containers', 'auth.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${USER}:wrong`).toString('base64') } } }));
  const wrong = await pull(sb, { XDG_RUNTIME_DIR: runtime });
  t.equal(wrong.code, 4, 'the file is what was used');
});

t.test('login asks for the password on a terminal without echoing it', async (t) => {
  const sb = await sandbox(t);
  const cmd = `${process.execPath} ${BBOX_BIN} login -u ${USER} ${reg.host}`;
  const child = spawn('script', ['-qefc', cmd, '/dev/null'], { cwd: sb.workdir, env: { ...sb.env, TERM: 'dumb' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((r) => child.on('close', r));
  const prompted = new Promise<void>((resolve) =>
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Password: ')) resolve();
    }),
  );
  await prompted;
  child.stdin.write(`${PASSWORD}\r`);
  const code = await exited;
  t.equal(code, 0, out);
  t.match(out, 'Login Succeeded');
  t.notMatch(out, PASSWORD, 'the password was not echoed');
});
