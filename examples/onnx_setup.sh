#!/bin/sh
# onnx_setup.sh: installs onnxruntime-node 1.30.0 (its bundled CPU build, from the npm
# registry only: ONNXRUNTIME_NODE_INSTALL=skip keeps its install script from fetching the
# CUDA/TensorRT extras) into BUILD/ort and makes the two external-data ONNX models the swap
# tests load: tiny/ (model.onnx + a 4 MiB model.onnx.data) and big/ (64 MiB, for the cap
# test).  See onnx_tiny.js for the model.
#   sh examples/onnx_setup.sh [BUILD]      (default: build)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
dir=$build/ort
ver=1.30.0
mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || echo '{"name": "allocguard-ort", "private": true}' > package.json
if [ ! -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node ]; then
	ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --omit=optional \
		"onnxruntime-node@$ver"
fi
[ -f tiny/model.onnx ] || node "$root/examples/onnx_tiny.js" tiny 42 1024 1024
[ -f big/model.onnx ] || node "$root/examples/onnx_tiny.js" big 7 4096 4096
ORT_DIR=$dir node "$root/examples/onnx_run.js" "$dir/tiny/model.onnx"
echo "onnxruntime-node $ver and test models are in $dir"
