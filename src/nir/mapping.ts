/**
 * How a glekit model maps onto a NIR graph: node names and the metadata keys under which
 * what NIR cannot say travels (docs/nir.md has the table). Export writes these names;
 * import reads them and falls back to the defaults docs/nir.md states when they are
 * absent (a file from another tool).
 */

/** Names of the nodes glekit writes; layer l is `layer{l}_affine` (or `_linear` without bias) then `layer{l}_li`. */
export const INPUT_NODE = 'input';
export const OUTPUT_NODE = 'output';
export const weightNodeName = (layer: number, hasBias: boolean): string => `layer${layer}_${hasBias ? 'affine' : 'linear'}`;
export const neuronNodeName = (layer: number): string => `layer${layer}_li`;

/** Every glekit key starts with this prefix, so that no other tool's key can be taken for one. */
export const PREFIX = 'glekit.';

/** Keys in the graph's (the NIRGraph node's) metadata. */
export const GRAPH_KEYS = {
  /** "glekit-model": the graph was written by glekit from a model file */
  format: 'glekit.format',
  /** the model file's format version */
  formatVersion: 'glekit.format_version',
  /** the contentHash of the model file that was exported */
  modelHash: 'glekit.model_hash',
  tool: 'glekit.tool',
  task: 'glekit.task',
  dt: 'glekit.dt',
  gamma: 'glekit.gamma',
  beta: 'glekit.beta',
  loss: 'glekit.loss',
  /** 1 or 0 */
  prospectiveErrors: 'glekit.prospective_errors',
  presentationMode: 'glekit.presentation.mode',
  stepsPerSample: 'glekit.presentation.steps_per_sample',
  settleSteps: 'glekit.presentation.settle_steps',
  readout: 'glekit.presentation.readout',
  /** the model's free-form training record, as JSON text */
  training: 'glekit.training_json',
  /** the model's metrics, as JSON text */
  metrics: 'glekit.metrics_json',
} as const;

/** Keys in each LI node's metadata. */
export const NEURON_KEYS = {
  /** tau_r per neuron (float64, same shape as tau) */
  tauR: 'glekit.tau_r',
  /** the rate function phi by its glekit name */
  phi: 'glekit.phi',
  /** what the neuron emits, for people: "phi(u + tau_r * du/dt)" */
  output: 'glekit.output',
} as const;

export const MODEL_FORMAT_TAG = 'glekit-model';
export const NEURON_OUTPUT_TEXT = 'phi(u + tau_r * du/dt), u the LI state';
