#!/bin/sh
# node_llama_setup.sh: installs node-llama-cpp 3.22.1 (CPU prebuilt, from the npm registry
# only) into BUILD/nlc and makes the two random-weight GGUFs the swap tests load: tiny.gguf
# (17 MiB) and big.gguf (146 MiB, for the cap test).  The tokenizer comes from a vocab-only
# GGUF inside the llama.cpp source bundle the package carries.
#   sh examples/node_llama_setup.sh [BUILD]      (default: build)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
dir=$build/nlc
ver=3.22.1
mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || echo '{"name": "allocguard-nlc", "private": true}' > package.json
if [ ! -d node_modules/node-llama-cpp ] || [ ! -d node_modules/@node-llama-cpp/linux-x64 ]; then
	npm install --no-audit --no-fund --omit=optional \
		"node-llama-cpp@$ver" "@node-llama-cpp/linux-x64@$ver"
fi
if [ ! -f vocab.gguf ]; then
	rm -rf src.git
	git init -q --bare src.git
	git -C src.git fetch -q "$dir/node_modules/node-llama-cpp/llama/gitRelease.bundle" HEAD
	git -C src.git show FETCH_HEAD:models/ggml-vocab-llama-spm.gguf > vocab.gguf.tmp
	mv vocab.gguf.tmp vocab.gguf
	rm -rf src.git
fi
[ -f tiny.gguf ] || node "$root/examples/gguf_tiny.js" vocab.gguf tiny.gguf 42 64
[ -f big.gguf ] || node "$root/examples/gguf_tiny.js" vocab.gguf big.gguf 42 512
echo "node-llama-cpp $ver and test models are in $dir"
