#!/usr/bin/env bash
# Spark GPU discovery script (spark.{executor,worker}.resource.gpu.discoveryScript).
# Prints the GPUs this process may use in Spark's resource JSON, e.g.
#   {"name": "gpu", "addresses": ["0","1"]}
# The addresses are nvidia-smi's device indices. When CUDA_VISIBLE_DEVICES lists indices, only
# those are reported, so Spark never hands a task a GPU that CUDA hides from the executor.
# Set NVIDIA_SMI to use another nvidia-smi binary.
set -euo pipefail

smi="${NVIDIA_SMI:-nvidia-smi}"
if ! command -v "$smi" >/dev/null 2>&1; then
  echo "gpu-discovery.sh: '$smi' not found; install the NVIDIA driver or set NVIDIA_SMI" >&2
  exit 1
fi
if ! indices="$("$smi" --query-gpu=index --format=csv,noheader)"; then
  echo "gpu-discovery.sh: '$smi --query-gpu=index --format=csv,noheader' failed" >&2
  exit 1
fi

addresses=()
while IFS= read -r line; do
  index="${line//[[:space:]]/}"
  [[ -z "$index" ]] && continue
  if [[ ! "$index" =~ ^[0-9]+$ ]]; then
    echo "gpu-discovery.sh: expected a device index from nvidia-smi, found '$line'" >&2
    exit 1
  fi
  if [[ -n "${CUDA_VISIBLE_DEVICES:-}" && ",${CUDA_VISIBLE_DEVICES// /}," != *",$index,"* ]]; then
    continue
  fi
  addresses+=("\"$index\"")
done <<< "$indices"

joined="$(IFS=,; echo "${addresses[*]:-}")"
echo "{\"name\": \"gpu\", \"addresses\": [$joined]}"
