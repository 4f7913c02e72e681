// `blkif conform <xenstored-trace> [--device <id>]`: checks a real xenstored trace of blkif
// traffic against the model (traces/conformance/conform.ts) and prints one line per device
// session: "ok" or the first divergence. Exit 0 when all conform, 1 on a divergence, 2 on bad
// input (missing file, unparsable trace, no matching device).

import type { SessionVerdict } from '../../traces/conformance/conform.ts';
import { conformTrace } from '../../traces/conformance/conform.ts';
import { type CliCommand, type CliIo, EXIT, type ExitCode } from '../command.ts';
import { CliError, oneLine } from '../errors.ts';
import { readTextFile } from '../paths.ts';

function badInput(io: CliIo, message: string): ExitCode {
  io.stderr(`blkif conform: ${oneLine(message)}\n`);
  return EXIT.badInput;
}

export function formatVerdict(verdict: SessionVerdict): string {
  if (verdict.divergence !== undefined) return `FAIL ${verdict.divergence.message}`;
  const partial = verdict.partial;
  if (partial !== undefined) {
    return (
      `ok (partial): ${verdict.device}: stopped at ${partial.states}, line ${partial.line} — ` +
      `${partial.why}; ${verdict.writesCompared} writes equal to the model's until then ` +
      `(next, ${partial.next})`
    );
  }
  const window =
    verdict.comparedBefore === undefined
      ? ''
      : verdict.backendThroughTeardown
        ? ` before line ${verdict.comparedBefore} (frontend directory removed; blkback's through its Closed after the ${verdict.closedAfter === 'destroy' ? 'xl destroy' : 'save'})`
        : ` before line ${verdict.comparedBefore} (frontend directory removed)`;
  return (
    `ok   ${verdict.device}: legal state changes, negotiation and key layout as the model's, ` +
    `${verdict.writesCompared} writes equal to the model's${window}`
  );
}

export const conformCommand: CliCommand = {
  name: 'conform',
  summary: 'check a real xenstored trace (xenstored -T) of blkif traffic against the model',
  usage: '<xenstored-trace> [--device <devid>|<domid>/<devid>]',
  options: [
    {
      name: 'device',
      kind: 'string',
      summary: 'only the sessions of this device, e.g. 51712 or 1/51712',
    },
  ],
  run({ positionals, options }, io) {
    const [file, ...extra] = positionals;
    if (file === undefined) return badInput(io, 'missing <xenstored-trace> argument');
    if (extra.length > 0) return badInput(io, `unexpected argument ${JSON.stringify(extra[0])}`);
    const device = options.device;
    if (device !== undefined && typeof device !== 'string' && typeof device !== 'number') {
      return badInput(io, '--device needs a device id, e.g. 51712 or 1/51712');
    }
    let text: string;
    try {
      text = readTextFile(io, file, 'a xenstored trace');
    } catch (error) {
      if (error instanceof CliError) return badInput(io, `cannot read ${error.message}`);
      throw error;
    }
    const result = conformTrace(text, device === undefined ? {} : { device: String(device) });
    if (!result.ok) return badInput(io, `${file}:${result.error.line}: ${result.error.message}`);
    if (result.value.length === 0) {
      const which = device === undefined ? 'no vbd device' : `no session of device ${device}`;
      return badInput(io, `${file}: ${which} in the trace`);
    }
    for (const verdict of result.value) io.stdout(`${formatVerdict(verdict)}\n`);
    const failed = result.value.some((verdict) => verdict.divergence !== undefined);
    return failed ? EXIT.safety : EXIT.pass;
  },
};
