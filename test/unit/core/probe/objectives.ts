import type { Objective } from '../../../../src/core/probe/lbfgs';

/** Extended Rosenbrock: Σ 100(x_{i+1} − x_i²)² + (1 − x_i)², minimum 0 at all-ones. */
export const rosenbrock: Objective = (x, g) => {
  g.fill(0);
  let f = 0;
  for (let i = 0; i + 1 < x.length; i++) {
    const a = x[i + 1] - x[i] * x[i];
    const b = 1 - x[i];
    f += 100 * a * a + b * b;
    g[i] += -400 * x[i] * a - 2 * b;
    g[i + 1] += 200 * a;
  }
  return f;
};

/** f = ½ Σ d_i (x_i − i)² over n variables, d_i rising geometrically from 1 to `condition`. */
export function shiftedQuadratic(n: number, condition: number): Objective {
  const d = new Float64Array(n).map((_, i) => Math.pow(condition, i / (n - 1)));
  return (x, g) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const r = x[i] - i;
      s += 0.5 * d[i] * r * r;
      g[i] = d[i] * r;
    }
    return s;
  };
}
