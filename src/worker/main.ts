/**
 * The long-lived worker thread: runs core jobs one at a time (ORT native code has crashed when
 * driven from several worker threads, so there is exactly one) and streams typed progress.
 */
import { parentPort } from 'node:worker_threads';
import { abortWhen, isCancelled, serializeError, throwIfAborted } from '../core/errors';
import { runAnyJob } from '../core/pipeline/dispatch';
import { FromWorker, ToWorker } from './protocol';

const port = parentPort;
if (!port) throw new Error('src/worker/main must run inside a worker thread');
const running = new Map<number, AbortController>();
const post = (m: FromWorker) => port.postMessage(m);
// Jobs run one after another: a job whose caller gave up waiting still finishes its batch
// before the next job starts, so ORT never runs two jobs' sessions at once.
let queue: Promise<void> = Promise.resolve();

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'cancel':
      running.get(msg.id)?.abort();
      break;
    case 'run': {
      const ac = new AbortController();
      const flag = msg.cancelFlag ? new Int32Array(msg.cancelFlag) : null;
      if (flag) abortWhen(ac, () => Atomics.load(flag, 0) === 1);
      running.set(msg.id, ac);
      const start = async () => {
        throwIfAborted(ac.signal);
        return runAnyJob(msg.job, {
          signal: ac.signal,
          onProgress: (event) => post({ type: 'progress', id: msg.id, event }),
          log: (level, message) => post({ type: 'log', id: msg.id, level, message }),
        });
      };
      const job = queue.then(start);
      queue = job.then(
        () => undefined,
        () => undefined,
      );
      job
        .then((result) => post({ type: 'result', id: msg.id, result }))
        .catch((e: unknown) => {
          if (isCancelled(e)) post({ type: 'cancelled', id: msg.id });
          else {
            post({ type: 'error', id: msg.id, error: serializeError(e) });
          }
        })
        .finally(() => running.delete(msg.id));
      break;
    }
    default: {
      const never: never = msg;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
});
