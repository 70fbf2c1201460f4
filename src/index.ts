/**
 * glekit as a library: the public API. The stages, lowest first: the float engine and
 * the tasks; training and the model file; hardware profiles and realised chips; the
 * substrate (the float engine on a chip); the compiler, the device descriptor it writes
 * and the integer emulator that runs it. The command line (src/cli) is a thin layer over
 * these same exports.
 */
export { VERSION } from './version.js';
export * from './engine/index.js';
export * from './tasks/index.js';
export * from './train/index.js';
export * from './model/index.js';
export { DEFAULT_EVAL_BATCH_SIZE, trainingInfo, type TrainingInfo } from './model/training-info.js';
export * from './hw/index.js';
export * from './substrate/index.js';
export * from './compile/index.js';
export * from './descriptor/index.js';
export * from './emulator/index.js';
export * from './presentation/index.js';
export * from './target/index.js';
export * from './bridge/index.js';
export * from './device/index.js';
export { exportModel, importNirFile } from './nir/index.js';
