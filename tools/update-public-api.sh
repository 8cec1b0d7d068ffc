#!/usr/bin/env bash
# Records the library's public API in src/EncoderKit/PublicAPI.Unshipped.txt after a deliberate API change: the build
# fails (RS0016/RS0017) on any public symbol added or removed without it, so every API change shows in review.
set -euo pipefail
cd "$(dirname "$0")/.."
project=src/EncoderKit/EncoderKit.csproj
# Written afresh from the code (nothing has shipped yet, so everything is unshipped); sorted so diffs stay small.
printf '#nullable enable\n' > src/EncoderKit/PublicAPI.Unshipped.txt
dotnet format analyzers "$project" --diagnostics RS0016 RS0037 --severity info -v q
{ head -n 1 src/EncoderKit/PublicAPI.Unshipped.txt; tail -n +2 src/EncoderKit/PublicAPI.Unshipped.txt | LC_ALL=C sort -u; } > src/EncoderKit/PublicAPI.Unshipped.txt.sorted
mv src/EncoderKit/PublicAPI.Unshipped.txt.sorted src/EncoderKit/PublicAPI.Unshipped.txt
echo "$(($(wc -l < src/EncoderKit/PublicAPI.Unshipped.txt) - 1)) public symbols recorded"
