export * from './model-file.js';
export * from './checks.js';
export * from './training-info.js';
export * from './retime.js';
