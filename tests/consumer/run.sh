#!/usr/bin/env bash
# The consumer test: pack the library into a local feed, build tests/consumer from that package alone (copied out of
# the repository, so none of its build files apply), and classify a sample with seeded weights, as PyTorch does.
# A file missing from the package, a broken buildTransitive target or a dependency left out fails here.
# Needs the test fixtures (dotnet test writes them).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
version="0.0.0-consumer.$(date +%s)"
cleanup() {
    rm -rf "$work" "${NUGET_PACKAGES:-$HOME/.nuget/packages}/torchvisionmodels/$version"
}
trap cleanup EXIT

dotnet pack "$root/src/TorchVisionModels" -c Release -o "$work/feed" -p:MinVerVersionOverride="$version" --nologo -v quiet
# What the gallery shows and a debugger needs: licence, readme, release notes, tags, the commit, symbols.
nuspec=$(unzip -p "$work/feed/TorchVisionModels.$version.nupkg" TorchVisionModels.nuspec)
for expected in '<license type="expression">BSD-3-Clause</license>' '<readme>README.md</readme>' '<releaseNotes># Changelog' \
    '<tags>torchvision resnet' '<repository type="git"' ' commit="'; do
    grep -qF "$expected" <<<"$nuspec" || { echo "consumer: the package's nuspec lacks $expected" >&2; exit 1; }
done
# Listings are read whole before grep -q looks at them: under pipefail, grep -q leaving at its first match can kill
# the writer with SIGPIPE and fail the pipeline on a match.
listing=$(unzip -l "$work/feed/TorchVisionModels.$version.nupkg")
grep -q ' README.md$' <<<"$listing" || { echo "consumer: the package has no README.md" >&2; exit 1; }
[ -s "$work/feed/TorchVisionModels.$version.snupkg" ] || { echo "consumer: no symbols package (.snupkg) was packed" >&2; exit 1; }
# A release: the version from a v-tag (MinVer), and Source Link pointing the symbols at the commit on the origin
# (a GitHub one here; the SDK's Source Link maps GitLab and Azure Repos too). Packed from a clone so the tag and
# remote stay out of this repository.
git clone -q "$root" "$work/release"
git -C "$work/release" remote set-url origin https://github.com/example/TorchVisionResNet.git
git -C "$work/release" tag v9.8.7
commit=$(git -C "$work/release" rev-parse HEAD)
dotnet pack "$work/release/src/TorchVisionModels" -c Release -o "$work/release-feed" --nologo -v quiet
[ -s "$work/release-feed/TorchVisionModels.9.8.7.nupkg" ] || { echo "consumer: tag v9.8.7 did not version the package 9.8.7" >&2; exit 1; }
release_nuspec=$(unzip -p "$work/release-feed/TorchVisionModels.9.8.7.nupkg" TorchVisionModels.nuspec)
grep -qF "<repository type=\"git\" url=\"https://github.com/example/TorchVisionResNet.git\"" <<<"$release_nuspec" \
    || { echo "consumer: the package does not name the origin as its repository" >&2; exit 1; }
unzip -p "$work/release-feed/TorchVisionModels.9.8.7.snupkg" lib/net10.0/TorchVisionModels.pdb >"$work/release.pdb"
grep -aqF "https://raw.githubusercontent.com/example/TorchVisionResNet/$commit/" "$work/release.pdb" \
    || { echo "consumer: the symbols have no Source Link to the commit's files" >&2; exit 1; }
rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}/torchvisionmodels/9.8.7"

mkdir "$work/app"
cp "$root/tests/consumer/Consumer.csproj" "$root/tests/consumer/Program.cs" "$work/app/"
cat > "$work/app/nuget.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local" value="$work/feed" />
  </packageSources>
</configuration>
CONFIG
# The local feed is added to the user's sources (nuget.org, for the library's dependencies).
TORCH_HOME="$work/torch" dotnet run --project "$work/app" -c Release -p:TorchVisionModelsVersion="$version" -- \
    "$root/tests/fixtures/forward_resnet18.weights.pt" "$root/samples/cat.png" "$root/tests/fixtures/classification.json"
