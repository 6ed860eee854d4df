#!/usr/bin/env bash
# Quantize/convert/verify throughput (MB/s of input) and peak RSS on a synthetic stories110M-shaped
# model (release build). Usage: Benchmarks/quantize.sh [SCRATCH_DIR]   (default /tmp/llmq-bench)
# Throughput is the bytes the command reads (the fp32 input; for --check the file checked) over its
# wall-clock time, output fsync included; CPU s is user + system time over all threads.
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

measure() {  # label, bytes the command reads, command...
  local label=$1 size=$2; shift 2
  /usr/bin/time -f "%e %M %U %S" "$@" >/dev/null 2>"$dir/time.txt"
  read -r seconds rss user sys < <(tail -1 "$dir/time.txt")
  awk -v l="$label" -v s="$seconds" -v r="$rss" -v b="$size" -v c="$(echo "$user + $sys" | bc)" \
    'BEGIN { printf "| %-30s | %6.2f | %6.2f | %7.0f | %6.0f |\n", l, s, c, b / 1e6 / s, r / 1024 }'
}

echo "input: $input ($bytes bytes), $(nproc) cores"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| command | wall s | CPU s | MB/s read | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|"
for type in q8_0 q4_0 q4_1; do
  measure "quantize --type $type" "$bytes" "$llmq" quantize "$input" "$dir/out.$type.llmq" --type "$type"
done
measure "quantize --type q4_0 --zstd" "$bytes" "$llmq" quantize "$input" "$dir/out.q4z.llmq" --type q4_0 --zstd
measure "convert (fp32 container)" "$bytes" "$llmq" convert "$input" "$dir/out.f32.llmq"
measure "inspect --check (q4_0 output)" "$(stat -c %s "$dir/out.q4_0.llmq")" "$llmq" inspect --check "$dir/out.q4_0.llmq"
for type in q8_0 q4_0 q4_1; do
  echo "$type: $(stat -c %s "$dir/out.$type.llmq") bytes"
done
