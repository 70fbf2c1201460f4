/**
 * Seeded pseudo-random numbers.
 *
 * We write our own generator instead of taking a library because the same stream
 * must be reproducible bit for bit in the C board emulator (firmware-bridge/), so the
 * algorithm has to be tiny and fully specified: xoshiro128** (Blackman & Vigna) seeded
 * through splitmix32. All arithmetic is 32-bit unsigned, which C and JS share exactly.
 *
 * Doubles take 53 random bits from two draws; normals use Box-Muller with a cached
 * second value, so the stream position after n normals is deterministic.
 */
import { GlekitError } from './errors.js';

/** Seeds are 32-bit: a larger one would alias a smaller one (seed mod 2^32), so it is refused. */
export const MAX_SEED = 2 ** 32 - 1;

/** Throws a GlekitError unless seed is an integer in 0..MAX_SEED; `what` names it (e.g. 'option --seed'). */
export function checkSeed(seed: number, what = 'seed'): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new GlekitError(`${what}: must be an integer in 0..${MAX_SEED} (2^32 - 1); larger seeds would repeat smaller ones (got ${String(seed)})`);
  }
  return seed;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal = 0;
  private hasSpareNormal = false;

  constructor(seed: number) {
    checkSeed(seed);
    // splitmix32 expands one 32-bit seed into four non-zero state words
    let x = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform double in [low, high). */
  uniformRange(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!(n >= 1) || n > 0x100000000 || !Number.isInteger(n)) throw new RangeError(`Rng.int needs an integer n in [1, 2^32], got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal N(0, 1) by the Box-Muller transform. */
  normal(): number {
    if (this.hasSpareNormal) {
      this.hasSpareNormal = false;
      return this.spareNormal;
    }
    let u1 = this.uniform();
    while (u1 === 0) u1 = this.uniform();
    const u2 = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u2;
    this.spareNormal = radius * Math.sin(angle);
    this.hasSpareNormal = true;
    return radius * Math.cos(angle);
  }

  /** Gaussian with the given mean and standard deviation. */
  gaussian(mean: number, std: number): number {
    return mean + std * this.normal();
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** An independent generator derived from this one's seed and a stream label. */
  static derive(seed: number, stream: number): Rng {
    checkSeed(seed);
    return new Rng(((Math.imul(seed >>> 0, 0x9e3779b1) >>> 0) ^ Math.imul((stream + 1) >>> 0, 0x85ebca77)) >>> 0);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
