# Sourced by the bench scripts once they have set $threads: the CPU line (bench/cpu_flags.sh),
# OpenBLAS's OpenMP build with the kernels for this CPU (SkylakeX with AVX-512, else Haswell; an
# OPENBLAS_CORETYPE from the caller wins), $threads OpenMP and OpenBLAS threads, and
#   pin:        (taskset -c 0-<threads-1>), empty without taskset
#   bench_line: "CPU line, OPENBLAS_CORETYPE=..., N thread(s), pinning", for the report's header
source "$(dirname "${BASH_SOURCE[0]}")/cpu_flags.sh"
coretype=Haswell
grep -qw avx512f /proc/cpuinfo && coretype=SkylakeX
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$coretype} OMP_NUM_THREADS=$threads
export OPENBLAS_NUM_THREADS=$threads
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "0-$((threads - 1))"); fi
bench_line="$cpu_line, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE, $threads thread(s), ${pin[*]:-no pinning}"
