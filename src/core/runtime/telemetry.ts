/**
 * ONNX Runtime 1.30's telemetry (Microsoft 1DS) writes an empty mat-debug-<pid>.log and a .ses
 * file into the temp folder on every run and may upload usage events; ProbeScale turns it off
 * unless the user set the variable. Native code reads the real environment, which a worker thread
 * cannot change: the host calls this before it starts the worker (and this module does so for
 * in-process use, before any session exists).
 */
export function disableOrtTelemetry(): void {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
}
