#!/usr/bin/env bash
# The release archive as a user installs it (README's one line): the self-contained linux-x64 build, unpacked
# somewhere with no .NET in reach of it, classifies a sample with seeded weights as PyTorch does.
# Needs the test fixtures (dotnet test writes them).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

archive=$("$root/scripts/publish_cli.sh" "$work/artifacts" linux-x64 | tail -1)
case "$(basename "$archive")" in
    torchvision-resnet-*-linux-x64.tar.gz) ;;
    *) echo "release: unexpected archive name $archive" >&2; exit 1 ;;
esac
mkdir "$work/install"
tar -xzf "$archive" -C "$work/install" --strip-components=1
# No dotnet on the PATH and no DOTNET_ROOT: the archive carries its runtime.
expected=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cat.png"][0]["label"])' "$root/tests/fixtures/classification.json")
output=$(env -i HOME="$work" PATH=/usr/bin:/bin TORCH_HOME="$work/torch" "$work/install/torchvision-resnet" classify --model resnet18 \
    --weights "$root/tests/fixtures/forward_resnet18.weights.pt" --json "$root/samples/cat.png")
actual=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["results"][0]["top"][0]["label"])' <<<"$output")
[ "$actual" = "$expected" ] || { echo "release: the archive's classify says $actual, PyTorch $expected" >&2; exit 1; }
echo "release: $(basename "$archive") installs and classifies cat.png as PyTorch does ($actual)"
