#!/bin/sh
# Robustness of one trained LE Yin-Yang network (4-120-3, tau_m = tau_r = 1), from the
# package root:  sh examples/robustness-yinyang/run.sh
# Every sweep resumes where it stopped if interrupted; delete a folder to redo it.
set -e
cd "$(dirname "$0")"
G="node ../../dist/src/cli/main.js"
M=model.json
# the model: npx glekit train --task yinyang --seed 1 --out examples/robustness-yinyang/model.json

# weight resolution: signed integers with a free per-matrix scale (biases alike)
$G robustness --model $M --hw ideal --vary weightBits=2:16:1 --seeds 5 --out weight-bits
# tau_m and tau_r mismatched independently per neuron (LE Fig. 4), as trained, no compensation
$G robustness --model $M --hw ideal --vary tauMCV+tauRCV=0,0.1,0.2,0.3 --seeds 10 --out tau-cv
# the same chips, 10 epochs of training in the loop (weights and biases)
$G robustness --model $M --hw ideal --vary tauMCV+tauRCV=0,0.1,0.2,0.3 --seeds 10 --train-on-chip 10 --out tau-cv-train
# the same chips, 10 epochs in the loop learning tau_m as well
$G robustness --model $M --hw ideal --vary tauMCV+tauRCV=0,0.1,0.2,0.3 --seeds 10 --train-on-chip 10 --learn-tau --out tau-cv-learn-tau
# follow-up, designed after the three sweeps above (see README): the same, but training
# in the loop resets the chip's state before each batch, as evaluation does
$G robustness --model $M --hw ideal --vary tauMCV+tauRCV=0,0.1,0.2,0.3 --seeds 10 --train-on-chip 10 --reset-state --out tau-cv-train-reset
$G robustness --model $M --hw ideal --vary tauMCV+tauRCV=0,0.1,0.2,0.3 --seeds 10 --train-on-chip 10 --learn-tau --reset-state --out tau-cv-learn-tau-reset
# transmission delay per layer, in steps (each sample is held for 5 steps)
$G robustness --model $M --hw ideal --vary delaySteps=0:4:1 --seeds 5 --out delay
# temporal noise on membranes and rates, per step, fraction of full scale (1)
$G robustness --model $M --hw ideal --vary noiseStd=0,0.02,0.05,0.1,0.2,0.3 --seeds 10 --out noise
# the shipped profiles as they are (xylo and dynapse2 refuse the network: fan-out / fan-in 64)
for P in bss2 loihi2 fpga-fixed16 mcu-q15; do
  $G robustness --model $M --hw $P --seeds 10 --out profile-$P
done
# the tau sweeps in two plots
node combine.mjs
