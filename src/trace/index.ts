export { parseTraceSpec, type TraceSpec } from './spec.js';
export { runTrace, checkTraceSize, traceNumbers, MAX_TRACE_NUMBERS, TraceDivergenceError, type TraceResult } from './run.js';
