#!/bin/bash
# Reproduces docs/study-authors.md: El Arar et al.'s FP8 experiment (E4M3 weights and accumulation, fp16
# recompute, their flag test and ours) on their L = 3 and L = 5 MLPs, then our three-level ladder.
# Run from the repository root; about an hour on 2 cores (every multiply-add of every inner product is emulated).
# The published pages used the first 300 test images for L = 3 and the ladders, 150 for L = 5.
set -euo pipefail
dotnet build runtime/Ema.Cli -c Release -v q -nologo >/dev/null
EMA="dotnet run --project runtime/Ema.Cli -c Release --no-build --"
DATA="--normalize 0.286,0.353 --input tests/fixtures/fmnist-x.npy --labels tests/fixtures/fmnist-y.npy"
for L_LIMIT in 3:300 5:150; do
  L=${L_LIMIT%%:*}; LIMIT=${L_LIMIT##*:}
  $EMA study tests/fixtures/fmnist-mlp-authors-l$L.onnx $DATA \
    --ladder fp8-e4m3:fp16 --weights-format fp8-e4m3 --inputs fp32 --head mixed \
    --criterion authors,full,full+sign --taus 1,0.5,0.3,0.1 --limit "$LIMIT" --out docs/study/authors-l$L
done
# Our step beyond the paper: three precision levels on the tanh MLP, next to the two-level ladders.
$EMA study tests/fixtures/fmnist-mlp-tanh.onnx $DATA --formats fp16,i8,fp8-e4m3 \
  --ladder i8:fp16:fp32,fp8-e4m3:fp16,fp8-e4m3:fp16:fp32 --block 16 --criterion full+sign --estimators running \
  --taus 1:0.001:4 --limit 300 --out docs/study/ladders-tanh
