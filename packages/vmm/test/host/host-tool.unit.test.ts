// Host programs are found where Debian puts them even when PATH does not reach there, and only
// a program found nowhere is reported missing, with the package to install.
import t from 'tap';
import { existsSync } from 'node:fs';
import { findHostTool, runHostTool, SYSTEM_TOOL_DIRS } from '../../src/host/host-tool.js';
import { HostToolError } from '../../src/errors.js';

t.test('mkfs.ext4 and debugfs are found in /usr/sbin or /sbin with a PATH that lacks them', async (t) => {
  const saved = process.env.PATH;
  t.teardown(() => {
    process.env.PATH = saved;
  });
  process.env.PATH = '/usr/local/bin:/usr/bin:/bin';
  for (const tool of ['mkfs.ext4', 'debugfs']) {
    const path = findHostTool(tool);
    t.match(path, /^\/(usr\/)?sbin\//, `${tool} found at ${path}`);
    t.ok(existsSync(path));
  }
  await t.resolves(runHostTool('mkfs.ext4', ['-V']), 'and runs from there');
});

t.test('PATH comes first', async (t) => {
  const saved = process.env.PATH;
  t.teardown(() => {
    process.env.PATH = saved;
  });
  process.env.PATH = '/usr/bin:/bin';
  t.equal(findHostTool('sh'), '/usr/bin/sh');
});

t.test('a program found nowhere names the package to install and where it looked', async (t) => {
  const err = (() => {
    try {
      findHostTool('newuidmap-not-here');
    } catch (e) {
      return e as HostToolError;
    }
    return undefined;
  })();
  t.type(err, HostToolError);
  t.equal(err?.code, 'VM_HOST_TOOL');
  t.match(err?.message, `newuidmap-not-here (looked in PATH and ${SYSTEM_TOOL_DIRS.join(', ')}) is not installed`);
  await t.rejects(runHostTool('virtiofsd-nowhere', []), { code: 'VM_HOST_TOOL', message: /virtiofsd-nowhere .* is not installed/ });
});
