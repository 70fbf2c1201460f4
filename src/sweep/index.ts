/** Robustness sweeps: grids of substrate settings x chip seeds, parallel and resumable. */
export { runSweep, DEFAULT_CHIP_LR, MANIFEST_FILE, MANIFEST_FORMAT, RECORDS_FILE, type SweepOptions, type SweepResult } from './run.js';
export { parseVary, parseVaries, gridPoints, planJobs, jobId, pointKey, axisLabel, MAX_JOBS, type VaryAxis, type Job, type SweepSettings } from './plan.js';
export { runJob, createJobContext, chipTrainingConfig, type JobRecord, type JobMetrics, type JobContext, type JobContextInit } from './job.js';
export { summarise, formatTable, writeSweepPlots, writeSummaryFiles, type PointSummary } from './summary.js';
export {
  writePlan,
  loadStudy,
  runShard,
  collectStudy,
  studyProgress,
  formatProgress,
  writeSlurmScript,
  submitSlurmScript,
  studyAssignment,
  PLAN_FILE,
  PLAN_FORMAT,
  type PlanFile,
  type StudySweep,
  type CollectResult,
  type ShardRunResult,
  type SlurmOptions,
} from './cluster.js';
export { parseShard, shardFromEnvironment, splitByCost, balanceOf, expectedCost, type Shard, type Balance, type CostModel } from './shard.js';
export { prepareSweep } from './run.js';
