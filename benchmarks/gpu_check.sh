#!/usr/bin/env bash
# The GPU check: on a machine with one GPU, where keras-motifs and a CUDA build of its backend
# are installed (`pip install . 'tensorflow[and-cuda]'`, or the pipeline's image:
# `docker run --gpus all -v $PWD:/src -w /src IMAGE bash benchmarks/gpu_check.sh`), measures
#   1. seconds per epoch of cnn-1 and cnn-25, the code before and after the per-step changes,
#      and the loss alone at 50 (the shipped choice at batch 50), 175 and 350 (a whole epoch)
#      steps per call (benchmarks/train_speed.py);
#   2. the epochs per minute of 1, 2, 4 and 8 trainings of cnn-25 and of cnn-1 at once on the
#      GPU, as `run --workers K` starts them, and the paper profile's projected wall time
#      (85 trainings) at each K (benchmarks/gpu_share.py).
# Refuses to run on the CPU: a GPU the backend cannot see is an error, not a slower answer.
# About 6 minutes on an H200; each part has its own time limit so the whole stays under 8.
# Run: bash benchmarks/gpu_check.sh [OUT_DIR]   (output also kept in OUT_DIR/gpu_check.log)
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-.}
mkdir -p "$out"
log="$out/gpu_check.log"
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3 TF_FORCE_GPU_ALLOW_GROWTH=true
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    python -c 'from keras_motifs.training import training_device; print("training on", training_device(require_gpu=True))'
    timeout 240 python train_speed.py --archs cnn-25,cnn-1 --epochs 3 --rounds 1 --steps-per-call 50,175,350
    timeout 100 python gpu_share.py --arch cnn-25 --concurrent 1,2,4,8 --epochs 4
    timeout 100 python gpu_share.py --arch cnn-1 --concurrent 1,2,4,8 --epochs 3
} 2>&1 | tee "$log"
