import t from 'tap';
import { buildCli } from '../../src/command-line/cli.js';
import { optionTable } from '../../src/command-line/option-declarations.js';
import { COMMON_OPTIONS } from '../../src/command-line/common-options.js';
import { PULL_OPTIONS, type PullRequest } from '../../src/pull/pull-options.js';

async function pullHelp(): Promise<{ text: string; definitions: string[] }> {
  const cli = await buildCli('0.0.0', {}, ['pull']);
  const { PullCommand } = await import('../../src/pull/pull-command.js');
  const pull = cli.definitions().find((d) => d.path === 'bbox pull');
  return { text: cli.usage(PullCommand, { detailed: true }), definitions: (pull?.options ?? []).map((o) => o.definition) };
}

t.test('pull help names what each option takes, never #0', async (t) => {
  const { text } = await pullHelp();
  for (const s of ['--pull POLICY', '--cache-dir DIR', '--config FILE', '--platform OS/ARCH[/VARIANT]']) t.match(text, s, s);
  t.notOk(text.includes('#0'), 'no unnamed value');
});

t.test('the start-up parser knows exactly the options the full parser declares', async (t) => {
  const { definitions } = await pullHelp();
  const helpNames = definitions.flatMap((d) => d.split(' ')[0]!.split(',')).sort();
  const table = optionTable<PullRequest>({ ...COMMON_OPTIONS, ...PULL_OPTIONS });
  t.same(Object.keys(table).sort(), helpNames);
});
