// Per-step checks over explored machine steps, shared by the machine tests: they state the
// protocol rules of blkif-protocol.md §12 (invariants 6-9, 30-33) on the effects a single
// transition emits. Each returns violation texts (empty when the step is fine).

import type { AnyStateMachine } from 'xstate';
import { backendEffectsOf, type Effect, effectsOf, frontendEffectsOf } from './effects.ts';
import { BACKEND_ANSWERS, FRONTEND_ANSWERS, IN_CALLBACK } from './events.ts';
import type { ExploredStep } from './graph.ts';
import { takenEdgeKeys } from './graph.ts';
import { isLegalTransition, type Side, XenbusState } from './xenbus-state.ts';

const S = XenbusState;

/** switchState effects follow the side's legal table, and the cache ends where they lead. */
export function checkSwitchStates(side: Side, step: ExploredStep): string[] {
  const problems: string[] = [];
  // blkfront's resume: xenbus resets the cached state to Initialising without writing it.
  const resumed = side === 'frontend' && step.event.type === 'toolstack.resume';
  let cache = resumed ? S.Initialising : (step.from.context.xenbusState as number);
  for (const effect of effectsOf(step.actions)) {
    if (effect.type !== 'switchState' || effect.state === cache) continue;
    const legal =
      isLegalTransition(side, cache, effect.state, side) ||
      isLegalTransition(side, cache, effect.state, 'xenbus');
    if (!legal) problems.push(`${side} switchState ${cache} -> ${effect.state} is not legal`);
    cache = effect.state;
  }
  if (step.to.context.xenbusState !== cache) {
    problems.push(`cached state ${step.to.context.xenbusState} but last switchState was ${cache}`);
  }
  return problems;
}

/** An effect that needs an answer leaves the machine where that answer is handled. */
export function checkAnswersHandled(
  machine: AnyStateMachine,
  side: Side,
  step: ExploredStep,
  answers: readonly { type: string }[],
): string[] {
  const table: Partial<Record<string, readonly string[]>> =
    side === 'frontend' ? FRONTEND_ANSWERS : BACKEND_ANSWERS;
  const problems: string[] = [];
  let fatal = false;
  for (const effect of effectsOf(step.actions)) {
    fatal ||= effect.type === 'writeError';
    const expected = table[effect.type];
    // The disconnect after a fatal error is cleanup whose result blkback ignores.
    if (expected === undefined || (fatal && effect.type === 'disconnectRings')) continue;
    const handled = answers.some(
      (event) => expected.includes(event.type) && takenEdgeKeys(machine, step.to, event).length > 0,
    );
    if (!handled) problems.push(`${effect.type} emitted but no ${expected.join('/')} handled next`);
  }
  return problems;
}

function switchesTo(effects: readonly Effect[], state: XenbusState): boolean {
  return effects.some((effect) => effect.type === 'switchState' && effect.state === state);
}

/** blkfront: Initialised only after the key transaction committed; Connected only after the
 * backend was seen Connected; rings sized within limits; in-flight captured before freeing. */
export function checkFrontendStep(step: ExploredStep): string[] {
  const problems: string[] = [];
  const effects = frontendEffectsOf(step.actions);
  const event = step.event as { type: string; result?: string; state?: number; ok?: boolean };
  const committed = event.type === 'xenstore.transactionEnded' && event.result === 'ok';
  if (switchesTo(effects, S.Initialised) && !committed) {
    problems.push(`Initialised written on ${event.type} without a committed key transaction`);
  }
  const backendSeenConnected =
    (event.type === 'otherEnd.stateChanged' && event.state === S.Connected) ||
    (event.type === 'backend.deviceInfoRead' && event.ok === true) ||
    (committed && step.from.context.connectAfterTalk === true);
  if (switchesTo(effects, S.Connected) && !backendSeenConnected) {
    problems.push(`Connected written on ${event.type} before the backend was seen Connected`);
  }
  for (const effect of effects) {
    if (effect.type !== 'allocateRings' && effect.type !== 'writeRingKeys') continue;
    const { queueCountMax, ringPageOrderMax } = step.to.context;
    if (effect.queueCount < 1 || effect.queueCount > Math.max(1, queueCountMax)) {
      problems.push(`${effect.type} with ${effect.queueCount} queues`);
    }
    if (effect.ringPageOrder > ringPageOrderMax) {
      problems.push(`${effect.type} with ring-page-order ${effect.ringPageOrder}`);
    }
  }
  const capture = effects.findIndex((effect) => effect.type === 'captureInflight');
  const free = effects.findIndex((effect) => effect.type === 'freeRings');
  if (capture !== -1 && free !== -1 && capture > free) problems.push('rings freed before capture');
  return problems;
}

/** blkback: Connected only with every ring mapped and the vbd open; rings mapped only after a
 * successful disconnect and validation; every fatal error goes to Closing. */
export function checkBackendStep(step: ExploredStep): string[] {
  const problems: string[] = [];
  const effects = backendEffectsOf(step.actions);
  const context = step.to.context as { vbdOpen: boolean; queueCount: number; bound: boolean };
  const event = step.event as { type: string; ok?: boolean };
  if (switchesTo(effects, S.Connected) && (!context.vbdOpen || context.queueCount === 0)) {
    problems.push('Connected written without an open vbd and mapped rings');
  }
  if (
    effects.some((e) => e.type === 'mapRings') &&
    !(event.type === 'frontend.ringsRead' && event.ok)
  ) {
    problems.push(`mapRings on ${event.type}, not on validated frontend keys`);
  }
  effects.forEach((effect, index) => {
    if (effect.type !== 'writeError') return;
    const next = effects[index + 1];
    if (next?.type !== 'switchState' || next.state !== S.Closing) {
      problems.push('writeError not followed by switchState(Closing) (xenbus_dev_fatal)');
    }
  });
  if (effects.some((e) => e.type === 'unregister') && context.bound) {
    problems.push('unregister left the device bound');
  }
  if (step.to.hasTag(IN_CALLBACK) && effects.length === 0 && !step.from.hasTag(IN_CALLBACK)) {
    problems.push('entered a callback step without asking the world for anything');
  }
  return problems;
}
