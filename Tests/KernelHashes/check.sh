#!/usr/bin/env bash
# The C kernels give the same bits on every FMA path: builds Tests/KernelHashes/kernel_hashes.c with
# the kernels, runs it at every x86 level this CPU has but the portable one (no FMA on x86-64's
# baseline), and, when the aarch64 cross tools are installed, for arm64 under qemu-aarch64, and
# compares each run's lines with golden.txt. Installs nothing itself (.ci/run does, and sets
# EMBER_REQUIRE_ARM64=1 so that a missing qemu fails instead of skipping).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
sources=(Sources/CEmberKernels/*.c Tests/KernelHashes/kernel_hashes.c)
golden=Tests/KernelHashes/golden.txt
status=0
check() { # name, command...
    local name=$1; shift
    if "$@" > "$out/$name.txt" && diff -u "$golden" "$out/$name.txt" > "$out/$name.diff"; then
        echo "kernel hashes, $name: $(wc -l < "$golden") cases match golden.txt"
    else
        echo "kernel hashes, $name: DIFFERENT from golden.txt"; cat "$out/$name.diff"; status=1
    fi
}
clang -O2 -I Sources/CEmberKernels/include "${sources[@]}" -lm -lpthread -o "$out/x86_64"
for level in avx2 avx512; do
    if "$out/x86_64" "$level" > /dev/null 2>&1; then check "x86_64-$level" "$out/x86_64" "$level"
    else echo "kernel hashes, x86_64-$level: this CPU cannot run it, skipped"; fi
done
if command -v qemu-aarch64 > /dev/null && [ -d /usr/aarch64-linux-gnu ]; then
    clang --target=aarch64-linux-gnu -O2 -fuse-ld=lld -I Sources/CEmberKernels/include "${sources[@]}" -lm -lpthread -o "$out/arm64"
    check arm64-neon qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/arm64"
elif [ "${EMBER_REQUIRE_ARM64:-}" = 1 ]; then
    echo "kernel hashes, arm64: qemu-aarch64 or the aarch64 cross libraries missing"; status=1
else
    echo "kernel hashes, arm64: qemu-aarch64 or the aarch64 cross libraries missing, skipped"
fi
exit $status
