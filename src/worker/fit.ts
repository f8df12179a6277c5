/**
 * A probe fit worker (src/core/probe/fitPool.ts): runs the units of work its pool posts, one at a
 * time, replies on its port, then bumps the shared counter the blocked caller waits on. It loads
 * the probe code only (no model runtime), so a pool of them starts quickly.
 */
import { workerData } from 'node:worker_threads';
import { abortWhen, serializeError, throwIfAborted } from '../core/errors';
import { fitFold, FoldWork } from '../core/probe/cv';
import { FitKind, FitReply, FitRequest, FitWorkerData } from '../core/probe/fitPool';
import { fitLayerRow, LayerRowWork } from '../core/probe/layerRow';

const UNITS: Record<FitKind, (input: never, signal: AbortSignal) => unknown> = {
  layerRow: (w: LayerRowWork, signal) => fitLayerRow(w, signal),
  cFold: (w: FoldWork, signal) => fitFold(w, signal),
};

const data = workerData as FitWorkerData;
if (data?.role !== 'fit') throw new Error('src/worker/fit must run as a fit worker of src/core/probe/fitPool.ts');
const counter = new Int32Array(data.counter);

function run(m: FitRequest): unknown {
  const ac = new AbortController();
  const flag = new Int32Array(m.cancel);
  abortWhen(ac, () => Atomics.load(flag, 0) === 1);
  throwIfAborted(ac.signal);
  return UNITS[m.kind](m.input as never, ac.signal);
}

data.port.on('message', (m: FitRequest) => {
  let reply: FitReply;
  try {
    reply = { id: m.id, ok: true, value: run(m) };
  } catch (e) {
    reply = { id: m.id, ok: false, error: serializeError(e) };
  }
  data.port.postMessage(reply);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
});
