import { BadInputError } from '../errors';

/** Per-feature centring and scaling, fitted on training rows only. */
export interface Standardizer {
  mean: Float64Array;
  scale: Float64Array;
}

/**
 * Column means and population standard deviations of the n×dim row-major matrix X, like
 * scikit-learn's StandardScaler. A feature with zero (or round-off-level) variance gets scale 1,
 * so it maps to 0 instead of dividing by zero.
 */
export function fitStandardizer(X: Float32Array, n: number, dim: number): Standardizer {
  checkShape(X, n, dim);
  if (n < 1) throw new BadInputError('cannot fit a standardizer on 0 rows');
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const row = i * dim;
    for (let j = 0; j < dim; j++) mean[j] += X[row + j];
  }
  for (let j = 0; j < dim; j++) mean[j] /= n;
  // Two-pass variance: the one-pass formula loses everything when |mean| ≫ std.
  const v = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const row = i * dim;
    for (let j = 0; j < dim; j++) {
      const c = X[row + j] - mean[j];
      v[j] += c * c;
    }
  }
  const scale = new Float64Array(dim);
  for (let j = 0; j < dim; j++) {
    const variance = v[j] / n;
    const sd = Math.sqrt(variance);
    // StandardScaler's constant-feature test: variance within the round-off of computing the mean.
    const bound = n * Number.EPSILON * variance + (n * mean[j] * Number.EPSILON) ** 2;
    scale[j] = variance <= bound || sd < 10 * Number.EPSILON || !Number.isFinite(sd) ? 1 : sd;
  }
  return { mean, scale };
}

/** Returns (X − mean) / scale as a new n×dim Float32Array; X is not modified. */
export function applyStandardizer(s: Standardizer, X: Float32Array, n: number, dim: number): Float32Array {
  checkShape(X, n, dim);
  if (s.mean.length !== dim || s.scale.length !== dim) {
    throw new BadInputError(`standardizer has ${s.mean.length} features but the data has ${dim}`);
  }
  const out = new Float32Array(n * dim);
  const inv = new Float64Array(dim);
  for (let j = 0; j < dim; j++) inv[j] = 1 / s.scale[j];
  for (let i = 0; i < n; i++) {
    const row = i * dim;
    for (let j = 0; j < dim; j++) out[row + j] = (X[row + j] - s.mean[j]) * inv[j];
  }
  return out;
}

function checkShape(X: Float32Array, n: number, dim: number): void {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(dim) || dim < 1) {
    throw new BadInputError(`bad matrix shape ${n}×${dim}`);
  }
  if (X.length !== n * dim) {
    throw new BadInputError(`matrix has ${X.length} values but ${n}×${dim} = ${n * dim} were expected`);
  }
}
