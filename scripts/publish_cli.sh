#!/usr/bin/env bash
# The command line as release archives: self-contained builds of src/Inference (no .NET needed where they run), named
# torchvision-resnet-VERSION-RID (.tar.gz for Linux, .zip for Windows), VERSION from the git tag (MinVer: v1.2.3 is
# 1.2.3). With docker on the PATH, the container image of deploy/Dockerfile is tagged with the same version.
#   scripts/publish_cli.sh [OUT] [RID...]        (default: artifacts, linux-x64 win-x64)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-artifacts}")
shift || true
rids=("${@:-linux-x64}")
[ $# -gt 0 ] || rids=(linux-x64 win-x64)
version=$(dotnet msbuild "$root/src/Inference" -restore -t:MinVer -getProperty:MinVerVersion -p:Configuration=Release)
mkdir -p "$out"
for rid in "${rids[@]}"; do
    name="torchvision-resnet-$version-$rid"
    rm -rf "$out/$name"
    dotnet publish "$root/src/Inference" -c Release -r "$rid" --self-contained -o "$out/$name" --nologo -v quiet
    case "$rid" in
        win-*) (cd "$out" && rm -f "$name.zip" && zip -qr "$name.zip" "$name") ;;
        *) tar -C "$out" -czf "$out/$name.tar.gz" "$name" ;;
    esac
    rm -rf "${out:?}/$name"
    echo "$out/$name.$([[ $rid == win-* ]] && echo zip || echo tar.gz)"
done
if command -v docker > /dev/null && docker info > /dev/null 2>&1; then
    docker build -f "$root/deploy/Dockerfile" --build-arg VERSION="$version" -t "torchvision-resnet:$version" "$root"
    echo "torchvision-resnet:$version"
fi
