/**
 * 16-bit floats as safetensors and ONNX store them, decoded to float32: IEEE 754 half (F16) and
 * bfloat16 (BF16, the top half of a float32).
 */

let halfValues: Float32Array | undefined;

/** Every IEEE 754 half's value by bit pattern (computed once: a lookup beats decoding each weight). */
function halfTable(): Float32Array {
  if (!halfValues) {
    halfValues = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfValues[h] = decodeHalf(h);
  }
  return halfValues;
}

/** IEEE 754 half to number: normal, subnormal (m·2⁻²⁴), ±0, ±∞ and NaN. */
function decodeHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** `bytes` (little-endian 16-bit values, any alignment) as float32. */
export function halfToFloat32(bytes: Buffer, kind: 'F16' | 'BF16'): Float32Array {
  const n = bytes.length >> 1;
  const half = new Uint16Array(n);
  bytes.copy(Buffer.from(half.buffer), 0, 0, 2 * n);
  const out = new Float32Array(n);
  if (kind === 'BF16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = half[i] << 16;
  } else {
    const table = halfTable();
    for (let i = 0; i < n; i++) out[i] = table[half[i]];
  }
  return out;
}
