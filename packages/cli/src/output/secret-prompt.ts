import { CliError } from './errors.js';
import { ExitCode } from './exit-codes.js';

/** Reads all of stdin (for `--password-stdin`), without its final line break. */
export async function readAllStdin(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks a question on a terminal and reads one line, echoed (a user name). */
export async function promptLine(input: NodeJS.ReadStream, output: NodeJS.WritableStream, question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input, output, terminal: true });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/**
 * Asks for a secret on a terminal without echoing it: raw mode, one character at a time, with
 * backspace; Enter ends it, Ctrl-C stops the command, Ctrl-D ends input.
 */
export function promptSecret(input: NodeJS.ReadStream, output: NodeJS.WritableStream, question: string): Promise<string> {
  // Echo goes off before the question is shown: what is typed as soon as it appears is never echoed.
  const wasRaw = input.isRaw;
  input.setRawMode(true);
  output.write(question);
  input.resume();
  let secret = '';
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(secret);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new CliError('interrupted', { code: 'INTERRUPTED', exitCode: ExitCode.interrupted }));
        if (ch === '\u007f' || ch === '\b') secret = [...secret].slice(0, -1).join('');
        else if (ch >= ' ') secret += ch;
      }
    };
    input.on('data', onData);
  });
}
