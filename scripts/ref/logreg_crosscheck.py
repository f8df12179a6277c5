"""Cross-check of the TypeScript probe engine (src/core/probe/logreg.ts) against an exact
Newton solver and, when installed, scikit-learn's LogisticRegression(solver='lbfgs').

Check tool only; no test depends on Python. Build the TypeScript first:

    npx tsc -p . --outDir /tmp/probe-out
    /usr/bin/python3 scripts/ref/logreg_crosscheck.py --js-out /tmp/probe-out

Prints (1) the Newton reference solutions pinned in test/unit/core/probe/logreg.test.ts, and
(2) for synthetic correlated "embedding-like" data: objective values, weight differences,
prediction agreement, iterations and fit times of both implementations.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

try:
    import sklearn
    from sklearn.linear_model import LogisticRegression
except ImportError:  # the Newton comparison still runs
    sklearn = None

NODE_FIT = r"""
const fs = require('fs');
const [jsOut, dir, n, d, K, C, tol] = process.argv.slice(1);
const { fitLogReg } = require(jsOut + '/src/core/probe/logreg.js');
const bytes = (f) => { const b = fs.readFileSync(dir + f); return b.buffer.slice(b.byteOffset, b.byteOffset + b.length); };
const X = new Float32Array(bytes('/X.f32'));
const y = new Int32Array(bytes('/y.i32'));
const t0 = process.hrtime.bigint();
const m = fitLogReg(X, y, +d, +K, { c: +C, tol: +tol, maxIter: 10000 });
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(JSON.stringify({ w: Array.from(m.weights), b: Array.from(m.bias), it: m.iterations, conv: m.converged, ms }));
"""


def small_sets():
    """The two tiny data sets pinned in the unit tests (rounded, then float32 as the engine sees them)."""
    rng = np.random.default_rng(7)
    out = []
    for n, K, d, C in [(16, 2, 3, 0.7), (18, 3, 3, 2.0)]:
        y = np.arange(n) % K
        mu = rng.normal(size=(K, d))
        X = np.round(mu[y] + rng.normal(size=(n, d)) * 1.2, 2)
        out.append((X.astype(np.float32).astype(np.float64), y, K, C))
    return out


def newton(X, y, K, C, iters=100):
    """Exact optimum of C·Σ logloss + ½‖W‖² (intercepts free) by Newton's method; pinv absorbs
    the softmax's flat intercept direction and returns the centred solution."""
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))])
    R = np.diag(np.r_[np.ones(d), 0.0])
    if K == 2:
        th = np.zeros(d + 1)
        for _ in range(iters):
            p = 1 / (1 + np.exp(-A @ th))
            g = C * A.T @ (p - y) + R @ th
            H = C * A.T @ (A * (p * (1 - p))[:, None]) + R
            th -= np.linalg.solve(H, g)
        return th[:d][None, :], th[d:]
    Y = np.eye(K)[y]
    W = np.zeros((K, d + 1))
    for _ in range(iters):
        Z = A @ W.T
        Z -= Z.max(1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(1, keepdims=True)
        G = C * (P - Y).T @ A + W @ R
        H = np.zeros((K * (d + 1), K * (d + 1)))
        for a in range(K):
            for b in range(K):
                w = P[:, a] * ((a == b) - P[:, b])
                H[a * (d + 1):(a + 1) * (d + 1), b * (d + 1):(b + 1) * (d + 1)] = C * A.T @ (A * w[:, None]) + (R if a == b else 0)
        W -= (np.linalg.pinv(H) @ G.ravel()).reshape(K, d + 1)
    return W[:, :d], W[:, d]


def objective(X, y, K, C, W, b):
    """(1/n)·Σ logloss + ‖W‖²/(2Cn): the per-sample-mean form both solvers minimise."""
    n = len(y)
    if K == 2:
        z = X @ W[0] + b[0]
        loss = np.sum(np.logaddexp(0, z) - y * z)
    else:
        Z = X @ W.T + b
        loss = np.sum(np.logaddexp.reduce(Z, axis=1) - Z[np.arange(n), y])
    return loss / n + np.sum(W ** 2) / (2 * C * n)


def predict(X, K, W, b):
    if K == 2:
        return (X @ W[0] + b[0] > 0).astype(int)
    return np.argmax(X @ W.T + b, axis=1)


def embedding_like(n, d, K, seed, rank=48):
    """Low-rank correlated features with a decaying spectrum, skewed class sizes; standardised."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(rank, d))
    sv = 3 * 0.9 ** np.arange(rank)
    mu = rng.normal(size=(K, rank)) * 0.35
    y = np.minimum(K - 1, np.floor(K * rng.random(n) ** 1.5)).astype(np.int32)
    Z = (rng.normal(size=(n, rank)) + mu[y]) * sv
    X = Z @ A + 0.3 * rng.normal(size=(n, d)) + 5
    X = (X - X.mean(0)) / X.std(0)
    return X.astype(np.float32), y


def run_ts(js_out, X, y, K, C, tol):
    with tempfile.TemporaryDirectory() as tmp:
        X.astype(np.float32).tofile(os.path.join(tmp, "X.f32"))
        y.astype(np.int32).tofile(os.path.join(tmp, "y.i32"))
        n, d = X.shape
        out = subprocess.run(
            ["node", "-e", NODE_FIT, js_out, tmp, str(n), str(d), str(K), str(C), str(tol)],
            check=True, capture_output=True, text=True,
        ).stdout
    r = json.loads(out)
    rows = 1 if K == 2 else K
    return np.array(r["w"]).reshape(rows, d), np.array(r["b"]), r["it"], r["conv"], r["ms"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--js-out", required=True, help="tsc output folder holding src/core/probe/logreg.js")
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    args = ap.parse_args()
    js_out = os.path.abspath(args.js_out)

    print("== Newton references for test/unit/core/probe/logreg.test.ts")
    for X, y, K, C in small_sets():
        W, b = newton(X, y, K, C)
        tw, tb, it, conv, _ = run_ts(js_out, X.astype(np.float32), y, K, C, 1e-12)
        print(f"K={K} C={C}: weights {W.ravel().tolist()}")
        print(f"        bias {b.tolist()}")
        print(f"   engine max |Δ| = {max(np.abs(tw - W).max(), np.abs(tb - b).max()):.2e} ({it} iterations)")
        if sklearn is not None:
            m = LogisticRegression(C=C, tol=1e-12, max_iter=100000).fit(X, y)
            print(f"   sklearn {sklearn.__version__} max |Δ| = {max(np.abs(m.coef_ - W).max(), np.abs(m.intercept_ - b).max()):.2e}")

    configs = [(3000, 256, 2, 1.0), (2000, 128, 5, 0.1)]
    if not args.quick:
        configs += [(5000, 256, 28, 1.0)]
    print("\n== Synthetic embedding-like data (standardised), default tol = 1e-4")
    for n, d, K, C in configs:
        X, y = embedding_like(n, d, K, seed=n + K)
        X64 = X.astype(np.float64)
        tw, tb, it, conv, ms = run_ts(js_out, X, y, K, C, 1e-4)
        f_ts = objective(X64, y, K, C, tw, tb)
        line = f"n={n} d={d} K={K} C={C}: engine {ms:.0f} ms, {it} it, f={f_ts:.10f}"
        if sklearn is not None:
            t0 = time.perf_counter()
            m = LogisticRegression(C=C, max_iter=10000).fit(X64, y)
            sk_ms = (time.perf_counter() - t0) * 1000
            sw = m.coef_ if K > 2 else m.coef_[:1]
            f_sk = objective(X64, y, K, C, sw, m.intercept_)
            agree = np.mean(predict(X64, K, tw, tb) == m.predict(X64))
            line += (f" | sklearn {sk_ms:.0f} ms, {int(m.n_iter_[0])} it, f={f_sk:.10f}"
                     f" | Δf/f={(f_ts - f_sk) / f_sk:+.1e}, train-prediction agreement {agree:.4f}")
        print(line)
        if (K if K > 2 else 1) * (d + 1) <= 1000:
            # Tight tolerance against the exact optimum (Newton): how far each solver ends up from it.
            W, bb = newton(X64, y, K, C, iters=30)
            f_opt = objective(X64, y, K, C, W, bb)
            tw2, tb2, it2, _, ms2 = run_ts(js_out, X, y, K, C, 1e-9)
            dist = lambda w, b: max(np.abs(w - W).max(), np.abs(b - bb).max()) / np.abs(W).max()
            line = (f"   tol=1e-9 vs Newton optimum: engine {it2} it, {ms2:.0f} ms, rel. max |Δθ| = {dist(tw2, tb2):.1e},"
                    f" f − f* = {objective(X64, y, K, C, tw2, tb2) - f_opt:.1e}")
            if sklearn is not None:
                m2 = LogisticRegression(C=C, tol=1e-9, max_iter=100000).fit(X64, y)
                sw2 = m2.coef_ if K > 2 else m2.coef_[:1]
                line += (f" | sklearn {int(m2.n_iter_[0])} it, rel. max |Δθ| = {dist(sw2, m2.intercept_):.1e},"
                         f" f − f* = {objective(X64, y, K, C, sw2, m2.intercept_) - f_opt:.1e}")
            print(line)

if __name__ == "__main__":
    sys.exit(main())
