export { Network, LayerState, type NetworkOptions, type LayerHooks } from './network.js';
export { ACTIVATIONS, parseActivation, phiScalar, phiPrimeScalar, type ActivationName } from './activations.js';
export { typescriptKernels, type FloatArray, type WeightKernels } from './kernels.js';
export { activationCode, nativeDynamics, type NativeDynamics } from './dynamics.js';
export * from './types.js';
