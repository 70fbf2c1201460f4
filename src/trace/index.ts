export { parseTraceSpec, type TraceSpec } from './spec.js';
export { runTrace, type TraceResult } from './run.js';
