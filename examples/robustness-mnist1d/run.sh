#!/bin/sh
# Robustness of one GLE MNIST-1D network (evaluation only), from the package root:
#   sh examples/robustness-mnist1d/run.sh
# model.json is `npx glekit train --task mnist1d --seed 1` (91.4 % test; about an hour).
# Every sweep resumes where it stopped if interrupted; delete a folder to redo it.
set -e
cd "$(dirname "$0")"
G="node ../../dist/src/cli/main.js"
M=model.json
# tau_m and tau_r mismatched independently per neuron, as for LE
$G robustness --model $M --hw ideal --vary tauMCV+tauRCV=0,0.05,0.1,0.2,0.3 --seeds 5 --out tau-cv
# weight resolution: signed integers with a free per-matrix scale (no randomness: chips agree)
$G robustness --model $M --hw ideal --vary weightBits=4:16:2 --seeds 3 --out weight-bits
# temporal noise on membranes and rates, per step, fraction of full scale (1)
$G robustness --model $M --hw ideal --vary noiseStd=0,0.01,0.02,0.05,0.1 --seeds 3 --out noise
