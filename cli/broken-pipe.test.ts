// Issue 19 (4): a reader that goes away (`blkif replay t.json | head -1`) ends the command quietly
// with its own exit code, not an EPIPE stack trace and exit 1. A real process: only Node's own
// stdout raises EPIPE.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const EXAMPLE = 'docs/examples/lost-wakeup-frontend-skips-final-check.json';

function withClosedStdout(argv: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['cli/bin.mjs', ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('a closed stdout', () => {
  it('replay into a closed pipe: its own exit code (3, liveness), nothing on stderr', async () => {
    expect(await withClosedStdout(['replay', EXAMPLE])).toEqual({ code: 3, stderr: '' });
  });
});
