/**
 * Rate functions phi and their derivatives, applied over whole typed arrays so the
 * switch on the kind happens once per layer and step, not per neuron.
 * Definitions follow the published GLE code, including its edge conventions:
 * hard sigmoid has derivative 1 on the closed interval [0, 1]; relu has derivative 0 at 0;
 * softplus returns x itself above 20 (as torch.nn.Softplus does).
 */
import type { FloatArray } from './kernels.js';

export const ACTIVATIONS = ['linear', 'tanh', 'sigmoid', 'hardSigmoid', 'relu', 'softplus'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

const ALIASES: Record<string, ActivationName> = {
  linear: 'linear',
  identity: 'linear',
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  logistic: 'sigmoid',
  hardsigmoid: 'hardSigmoid',
  relu: 'relu',
  softplus: 'softplus',
};

/** Accepts the spellings people use (hard_sigmoid, hardSigmoid, hard-sigmoid); null if unknown. */
export function parseActivation(name: unknown): ActivationName | null {
  if (typeof name !== 'string') return null;
  return ALIASES[name.toLowerCase().replace(/[_\-\s]/g, '')] ?? null;
}

const SOFTPLUS_THRESHOLD = 20;

export function phiScalar(kind: ActivationName, x: number): number {
  switch (kind) {
    case 'linear':
      return x;
    case 'tanh':
      return Math.tanh(x);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'hardSigmoid':
      return x < 0 ? 0 : x > 1 ? 1 : x;
    case 'relu':
      return x > 0 ? x : 0;
    case 'softplus':
      return x > SOFTPLUS_THRESHOLD ? x : Math.log1p(Math.exp(x));
  }
}

export function phiPrimeScalar(kind: ActivationName, x: number): number {
  switch (kind) {
    case 'linear':
      return 1;
    case 'tanh': {
      const t = Math.tanh(x);
      return 1 - t * t;
    }
    case 'sigmoid': {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 - s);
    }
    case 'hardSigmoid':
      return x >= 0 && x <= 1 ? 1 : 0;
    case 'relu':
      return x > 0 ? 1 : 0;
    case 'softplus':
      return 1 / (1 + Math.exp(-x));
  }
}

/** r[i] = phi(pu[i]), rp[i] = phi'(pu[i]) for i < n. */
export function applyActivation(kind: ActivationName, pu: FloatArray, r: FloatArray, rp: FloatArray, n: number): void {
  switch (kind) {
    case 'linear':
      for (let i = 0; i < n; i++) {
        r[i] = pu[i];
        rp[i] = 1;
      }
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) {
        const t = Math.tanh(pu[i]);
        r[i] = t;
        rp[i] = 1 - t * t;
      }
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) {
        const s = 1 / (1 + Math.exp(-pu[i]));
        r[i] = s;
        rp[i] = s * (1 - s);
      }
      return;
    case 'hardSigmoid':
      for (let i = 0; i < n; i++) {
        const x = pu[i];
        if (x < 0) {
          r[i] = 0;
          rp[i] = 0;
        } else if (x > 1) {
          r[i] = 1;
          rp[i] = 0;
        } else {
          r[i] = x;
          rp[i] = 1;
        }
      }
      return;
    case 'relu':
      for (let i = 0; i < n; i++) {
        const x = pu[i];
        if (x > 0) {
          r[i] = x;
          rp[i] = 1;
        } else {
          r[i] = 0;
          rp[i] = 0;
        }
      }
      return;
    case 'softplus':
      for (let i = 0; i < n; i++) {
        const x = pu[i];
        r[i] = x > SOFTPLUS_THRESHOLD ? x : Math.log1p(Math.exp(x));
        rp[i] = 1 / (1 + Math.exp(-x));
      }
      return;
  }
}

/** The values an activation can take: the open interval of its outputs (infinite where unbounded). */
export function activationRange(phi: ActivationName): [number, number] {
  switch (phi) {
    case 'linear':
      return [-Infinity, Infinity];
    case 'hardSigmoid':
    case 'sigmoid':
      return [0, 1];
    case 'tanh':
      return [-1, 1];
    case 'relu':
    case 'softplus':
      return [0, Infinity];
  }
}
