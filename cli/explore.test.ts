// `blkif explore` end to end on small bounds: the verdict lines, the exit codes (0, 1, 2, 5),
// and a counterexample trace that `blkif replay` and `blkif render` read as they read check's.
import { describe, expect, it } from 'vitest';
import { parseTrace } from '../traces/schema.ts';
import { runCli } from './run-cli.ts';
import { fakeIo } from './testing/fake-io.ts';

describe('blkif explore', () => {
  it('honest drivers, connection only: no violation within bounds, the space exhausted', async () => {
    const io = fakeIo();
    const code = await runCli(['explore', '--requests', '0', '--por', 'off'], io);
    expect(io.stderrText()).toBe('');
    expect(code).toBe(0);
    const out = io.stdoutText();
    expect(out).toMatch(/^explore: drivers honest; 1 queue\(s\), ring order 0, 0 request\(s\)/);
    expect(out).toMatch(
      /\nno violation within bounds: \d[\d,]* states, \d[\d,]* transitions, depth \d+, [\d.]+ s\n/,
    );
    expect(out).toContain('every reachable state explored: the state space is exhausted');
  });

  it('a known-bad variant: the violation in check words, a trace that replays and renders (exit 1)', async () => {
    const io = fakeIo();
    const argv = [
      'explore',
      '--requests',
      '1',
      '--ops',
      'write',
      '--drivers',
      'publish-past-private',
    ];
    const code = await runCli([...argv, '--out', 'out'], io);
    expect(code).toBe(1);
    const lines = io.stdoutText().split('\n');
    expect(lines[1]).toMatch(/^FAIL explore: a shortest counterexample, 11 scheduled actions/);
    expect(lines[2]).toMatch(/^ {2}ring-bounds at step 11: ring 0 — /);
    expect(lines[3]).toBe('  npx blkif replay out/ring-bounds-publish-past-private-explore.json');
    expect(lines[4]).toBe(
      `  rerun: npx blkif ${argv.slice(1).join(' ').replace(/^/, 'explore ')} --out out`,
    );
    const file = 'out/ring-bounds-publish-past-private-explore.json';
    expect(parseTrace(io.files.get(file)!).steps).toHaveLength(11);
    const replay = fakeIo(Object.fromEntries(io.files));
    expect(await runCli(['replay', file], replay)).toBe(1);
    expect(replay.stdoutText()).toMatch(/^reproduced: ring-bounds at step 11/);
    const render = fakeIo(Object.fromEntries(io.files));
    expect(await runCli(['render', file, '--format', 'text'], render)).toBe(0);
    expect(render.stdoutText()).toMatch(/^blkif trace v1: ring-bounds at step 11/);
  });

  it('--hostile and --attack: a variant only a hostile peer exposes, found within one attack', async () => {
    const io = fakeIo();
    const attack = ['--requests', '0', '--hostile', 'blkfront', '--attack', 'flapState:8'];
    const argv = ['explore', ...attack, '--depth', '8'];
    expect(await runCli([...argv, '--drivers', 'blkback-follows-frontend-state'], io)).toBe(1);
    const lines = io.stdoutText().split('\n');
    expect(lines[0]).toContain('faults hostile blkfront: 1 attack(s) of flapState:8;');
    expect(lines[2]).toMatch(/^ {2}honest-side at step \d+: .*went Closing on its own/);
    expect(lines[3]).toBe(
      '  npx blkif replay .blkif/failures/honest-side-blkback-follows-frontend-state-explore.json',
    );
    // The honest drivers refuse the same attack within the same bounds.
    const honest = fakeIo();
    expect(await runCli(argv, honest)).toBe(0);
    expect(honest.stdoutText()).toContain('no violation within bounds');
  });

  it('a state limit: incomplete, with the frontier, exit 5', async () => {
    const io = fakeIo();
    const code = await runCli(['explore', '--requests', '0', '--max-states', '50'], io);
    expect(code).toBe(5);
    expect(io.stdoutText()).toMatch(
      /\nincomplete: explored 50 states, frontier \d+ \(the state limit ended the search at depth \d+\)\n$/,
    );
  });

  it('short of memory: incomplete at the next progress poll, said so, exit 5', async () => {
    const io = fakeIo();
    let polls = 0;
    // The host answers "full" from its second poll on (polled every 2,000 states).
    Object.assign(io, { memoryFull: () => ++polls >= 2 });
    const code = await runCli(['explore'], io);
    expect(code).toBe(5);
    expect(polls).toBe(2);
    expect(io.stdoutText()).toMatch(
      /\nincomplete: explored 4,\d{3} states, frontier [\d,]+ \(the process's memory ended the search at depth \d+\)\n$/,
    );
  });

  it('impossible bounds and bad values: one line, exit 2, nothing written', async () => {
    const cases: [string[], RegExp][] = [
      [['--depth', '0'], /^blkif explore: --depth: must be an integer in 1\.\.100000, got 0\n$/],
      [
        ['--sectors', '1024', '--ops', 'bogus'],
        /^blkif explore: --ops: expected read, write, flush, discard, got "bogus"\n$/,
      ],
      [
        ['--backend-queues', 'absent,0'],
        /^blkif explore: --backend-queues: expected absent or a queue count in 1\.\.16, got "0"\n$/,
      ],
      [['--por', 'maybe'], /^blkif explore: --por: expected on or off, got "maybe"\n$/],
      [['--time', 'soon'], /^blkif explore: --duration: expected a time like 90s/],
      [['--drivers', 'nonesuch'], /^blkif explore: --drivers: unknown driver variant "nonesuch"/],
      [['--attacks', '1'], /^blkif explore: --attacks: needs --hostile blkfront\|blkback\n$/],
      [
        ['--hostile', 'dom0'],
        /^blkif explore: --hostile: expected blkfront or blkback, got "dom0"\n$/,
      ],
      [
        ['--hostile', 'blkfront', '--attack', 'rspProdBeyondRing'],
        /^blkif explore: --attack: rspProdBeyondRing is not an attack of a hostile blkfront\n$/,
      ],
    ];
    for (const [args, message] of cases) {
      const io = fakeIo();
      expect(await runCli(['explore', ...args], io), args.join(' ')).toBe(2);
      expect(io.stderrText()).toMatch(message);
      expect(io.stdoutText()).toBe('');
      expect([...io.files.keys()]).toEqual([]);
    }
  });

  it('--coverage lists what the bounds reach and what they cannot', async () => {
    const io = fakeIo();
    expect(await runCli(['explore', '--requests', '0', '--coverage'], io)).toBe(0);
    const out = io.stdoutText();
    expect(out).toMatch(/\ncoverage within the bounds \(\d[\d,]* states\)\n/);
    expect(out).toMatch(/\n {2}NOT REACHED {2}guest\.submit\n/);
    expect(out).toMatch(
      /\nxenbus state edges of the drivers \(transitions; unreachable listed\): \d+\/\d+ reached\n/,
    );
  });
});
