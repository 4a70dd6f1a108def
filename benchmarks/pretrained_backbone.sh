#!/usr/bin/env bash
# Fine-tuning from a pretrained backbone against from scratch, at the same budget, with a linear probe on the frozen
# backbone's features as a third row (RESULTS.md). Each training set is N images per class; all are tested on TEST.
#   benchmarks/pretrained_backbone.sh OUT TEST "TRAIN_100:EPOCHS TRAIN_1000:EPOCHS ..." [BACKBONE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$1 test=$2 sets=$3 backbone=${4:-mlnet-resnet18}
cli="$root/src/Inference/bin/Release/net10.0/torchvision-resnet"
mkdir -p "$out"
dotnet run "$root/benchmarks/random_backbone.cs" -- "$backbone" "$out/random.pt"
for set in $sets; do
    data=${set%%:*} epochs=${set##*:} name=$(basename "${set%%:*}")
    for start in "$backbone" "$out/random.pt"; do
        run="$out/$name-$( [ "$start" = "$backbone" ] && echo pretrained || echo scratch )"
        [ -s "$run/best.pt" ] || "$cli" finetune --data "$data" --val "$test" --weights "$start" --epochs "$epochs" --batch-size 32 --seed 0 --out "$run" | tail -1
        echo "$run: $(tail -1 "$run/metrics.jsonl")"
    done
    echo "$out/$name-probe: $(dotnet run "$root/samples/linear_probe.cs" -- "$data" "$test" "$backbone" 300)"
done
