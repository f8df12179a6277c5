/**
 * A probe fit worker (src/core/probe/fitPool.ts): runs the units of work its pool posts, one at a
 * time, replies on its port, then bumps the shared counter the blocked caller waits on. It loads
 * the probe and ridge code only (no model runtime), so a pool of them starts quickly.
 */
import { workerData } from 'node:worker_threads';
import { lambdaHeldR2, LambdaWork } from '../core/compensate/ridge';
import { abortWhen, serializeError, throwIfAborted } from '../core/errors';
import { fitFold, FoldWork } from '../core/probe/cv';
import { FitKind, FitReply, FitRequest, FitWorkerData } from '../core/probe/fitPool';
import { fitLayerRow, fitMeasureUnit, fitTestScore, LayerRowWork, MeasureFitWork, TestFitWork } from '../core/probe/layerRow';

const UNITS: Record<FitKind, (input: never, signal: AbortSignal, onStep: () => void) => unknown> = {
  layerRow: (w: LayerRowWork, signal) => fitLayerRow(w, signal),
  cFold: (w: FoldWork, signal, onStep) => fitFold(w, signal, onStep),
  measureFit: (w: MeasureFitWork, signal) => fitMeasureUnit(w, signal),
  ridgeLambda: (w: LambdaWork, signal) => lambdaHeldR2(w, signal),
  referenceFit: (w: TestFitWork, signal) => fitTestScore(w, signal),
};

const data = workerData as FitWorkerData;
if (data?.role !== 'fit') throw new Error('src/worker/fit must run as a fit worker of src/core/probe/fitPool.ts');
const counter = new Int32Array(data.counter);

/** Posts a message to the pool, then wakes the caller blocked on the counter. */
function reply(m: FitReply): void {
  data.port.postMessage(m);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
}

function run(m: FitRequest): unknown {
  const ac = new AbortController();
  const flag = new Int32Array(m.cancel);
  abortWhen(ac, () => Atomics.load(flag, 0) === 1);
  throwIfAborted(ac.signal);
  return UNITS[m.kind](m.input as never, ac.signal, () => reply({ id: m.id, step: true }));
}

data.port.on('message', (m: FitRequest | null) => {
  // null: the pool asking whether this thread is still there (FitPool.alive); nothing to answer.
  if (m === null) return;
  let out: FitReply;
  try {
    out = { id: m.id, ok: true, value: run(m) };
  } catch (e) {
    out = { id: m.id, ok: false, error: serializeError(e) };
  }
  reply(out);
});
