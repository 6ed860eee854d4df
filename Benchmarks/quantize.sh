#!/usr/bin/env bash
# Quantize/convert/verify throughput (MB/s of input) and peak RSS on a synthetic stories110M-shaped
# model (release build). Usage: Benchmarks/quantize.sh [SCRATCH_DIR]   (default /tmp/llmq-bench)
# Throughput is the input file's size over the command's wall-clock time, output fsync included.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/llmq-bench}
mkdir -p "$dir"
swift build -c release >/dev/null
llmq=.build/release/llmq
input=$dir/stories110M.bin
[ -f "$input" ] || "$llmq" synth "$input" --shape stories110M --tokenizer "$dir/tokenizer.bin" 2>/dev/null
bytes=$(stat -c %s "$input")
cat "$input" >/dev/null  # start every run from a warm page cache

measure() {  # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" "$@" >/dev/null 2>"$dir/time.txt"
  timing=$(tail -1 "$dir/time.txt")
  local seconds=${timing% *} rss=${timing#* }
  awk -v l="$label" -v s="$seconds" -v r="$rss" -v b="$bytes" \
    'BEGIN { printf "| %-34s | %6.2f | %7.0f | %6.0f |\n", l, s, b / 1e6 / s, r / 1024 }'
}

echo "input: $input ($bytes bytes), $(nproc) cores"
echo "| command | seconds | MB/s of input | peak RSS MiB |"
echo "|---|---:|---:|---:|"
for type in q8_0 q4_0 q4_1; do
  measure "quantize --type $type" "$llmq" quantize "$input" "$dir/out.$type.llmq" --type "$type"
done
measure "quantize --type q4_0 --zstd" "$llmq" quantize "$input" "$dir/out.q4z.llmq" --type q4_0 --zstd
measure "convert (fp32 container)" "$llmq" convert "$input" "$dir/out.f32.llmq"
measure "inspect --check (q4_0 output)" "$llmq" inspect --check "$dir/out.q4_0.llmq"
for type in q8_0 q4_0 q4_1; do
  echo "$type: $(stat -c %s "$dir/out.$type.llmq") bytes"
done
