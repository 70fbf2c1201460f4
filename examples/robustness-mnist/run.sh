#!/bin/sh
# LE robustness to tau mismatch on MNIST (LE Fig. 4), from the package root:
#   npx glekit train --task mnist --seed 1          # runs/mnist-seed1.model.json (98.15 % test)
#   sh examples/robustness-mnist/run.sh
# Every sweep resumes where it stopped if interrupted; delete a folder to redo it.
# Settings fixed before the runs (one validation-split pilot at CV 0.3 on one chip):
# the protocol of the Yin-Yang follow-up (--reset-state), 5 chips per point, one epoch
# in the loop with the model's own optimiser (SGD, per-layer factors 1, 0.2, 0.1) at
# lr 1, a tenth of its initial rate, where its own training had levelled off.
set -e
cd "$(dirname "$0")"
G="node ../../dist/src/cli/main.js"
M=${MODEL:-../../runs/mnist-seed1.model.json}
V=tauMCV+tauRCV=0,0.1,0.2,0.3
$G robustness --model $M --hw ideal --vary $V --seeds 5 --out tau-cv
$G robustness --model $M --hw ideal --vary $V --seeds 5 --train-on-chip 1 --chip-lr 1 --reset-state --out tau-cv-train-reset
$G robustness --model $M --hw ideal --vary $V --seeds 5 --train-on-chip 1 --chip-lr 1 --reset-state --learn-tau --out tau-cv-learn-tau-reset
# follow-up, designed after the sweep above: at the model's SGD rate tau_m hardly moves
# (mean |tau_m/tau_r - 1| 0.3557 -> 0.3557 at CV 0.3), so tau_m learns at its own rate.
# The factor is the best validation accuracy of 1e2, 1e3, 1e4, 1e5 on one chip at CV 0.3
# (--split validation --seeds 1): 98.12, 98.12, 98.20, 98.23 %, mismatch 0.370 -> 0.368,
# 0.355, 0.308, 0.237.
$G robustness --model $M --hw ideal --vary $V --seeds 5 --train-on-chip 1 --chip-lr 1 --reset-state --learn-tau --tau-lr-factor 100000 --out tau-cv-learn-tau-fast-reset
node combine.mjs
