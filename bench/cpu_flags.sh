# Sourced by bench/bench_env.sh (the bench scripts' common set-up) and run_distributed.sh: the
# CPU line every report starts with, so that each figure says what it ran on.
#   cpu_flags: the flags that decide float32 and bfloat16 speed present on this CPU
#   cpu_line:  "MODEL (N cores; FLAGS)"
#   bf16_note: "" on a CPU with avx512_bf16 or amx_bf16, else why --bf16 is slower there
cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_bf16|amx_bf16|amx_tile)$' | tr '\n' ' ')
cpu_flags=${cpu_flags% }
cpu_line="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') ($(nproc --all) cores; ${cpu_flags:-none of avx2/avx512f/avx512_bf16/amx_bf16/amx_tile})"
bf16_note=
if ! grep -qwE 'avx512_bf16|amx_bf16' <<<"$cpu_flags"; then
  bf16_note="this CPU has neither avx512_bf16 nor amx_bf16: trellis bf16 is slower than fp32 here (docs/training.md, \"bf16 on the CPU\")"
fi
