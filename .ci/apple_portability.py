#!/usr/bin/env python3
"""Catches, on Linux, what would stop Ember from compiling on Apple platforms.

A Linux toolchain cannot type-check against Apple's SDKs, so this reads the Swift sources instead:
every use of a Linux-only module or API must sit inside `#if os(Linux)` / `#if canImport(Glibc)`
(or `Musl`), or in the `#else` of a `#if canImport(Darwin)`; and Package.swift must declare the Apple
platforms whose releases have the Synchronization module (macOS 15, iOS 18, tvOS 18, watchOS 11,
visionOS 2). Usage: apple_portability.py [ROOT]   |   apple_portability.py --self-test
"""
import pathlib
import re
import sys

LINUX_ONLY = [
    (re.compile(r"\b(Glibc|Musl)\b"), "the Glibc/Musl module"),
    (re.compile(r"^\s*import\s+FoundationNetworking\b"), "FoundationNetworking (Linux's URLSession)"),
    (re.compile(r"\b(RLIMIT_\w+|RUSAGE_\w+|SOCK_\w+|PF_\w+|SHUT_\w+)\.rawValue\b"), "a Glibc enum's rawValue (plain Int32 on Darwin)"),
    (re.compile(r"\b(MSG_NOSIGNAL|MADV_HUGEPAGE|SOCK_CLOEXEC|O_DIRECT)\b"), "a Linux-only constant"),
    (re.compile(r"\b(epoll_\w+|eventfd|prctl|sched_getaffinity|get_nprocs|sysinfo|memalign)\s*\("), "a Linux-only function"),
    (re.compile(r"\benviron\b"), "`environ` (not imported on Darwin)"),
    (re.compile(r"posix_spawn_file_actions_t\(\)"), "posix_spawn_file_actions_t() (an optional pointer on Darwin)"),
]
LINUX_CONDITION = re.compile(r"os\(Linux\)|canImport\((Glibc|Musl|FoundationNetworking)\)")
DARWIN_CONDITION = re.compile(r"canImport\(Darwin\)|os\((macOS|iOS|tvOS|watchOS|visionOS)\)")
PLATFORMS = [r"\.macOS\(\.v15\)", r"\.iOS\(\.v18\)", r"\.tvOS\(\.v18\)", r"\.watchOS\(\.v11\)", r"\.visionOS\(\.v2\)"]


def problems_in(text, name):
    """(line number, message) for each unguarded Linux-only use in one Swift file's text."""
    found = []
    stack = []  # per open #if: [condition of the current branch, whether it is an #else]
    for number, line in enumerate(text.splitlines(), 1):
        directive = line.strip()
        if directive.startswith("#if "):
            stack.append([directive[4:], False])
            continue
        if directive.startswith("#elseif ") and stack:
            stack[-1] = [directive[8:], False]
            continue
        if directive.startswith("#else") and stack:
            stack[-1][1] = True
            continue
        if directive.startswith("#endif") and stack:
            stack.pop()
            continue
        code = line.split("//", 1)[0]
        if not code.strip():
            continue
        guarded = any((not in_else and LINUX_CONDITION.search(condition))
                      or (in_else and DARWIN_CONDITION.search(condition)) for condition, in_else in stack)
        if guarded:
            continue
        for pattern, what in LINUX_ONLY:
            if pattern.search(code):
                found.append((number, f"{what} outside an `#if os(Linux)` / `#if canImport(Glibc)` guard: {line.strip()}"))
    return found


def check(root):
    failures = []
    for folder in ("Sources", "Examples", "Tests"):
        for path in sorted((root / folder).rglob("*.swift")):
            for number, message in problems_in(path.read_text(encoding="utf-8"), path):
                failures.append(f"{path.relative_to(root)}:{number}: {message}")
    manifest = (root / "Package.swift").read_text(encoding="utf-8")
    for platform in PLATFORMS:
        if not re.search(platform, manifest):
            failures.append(f"Package.swift: platforms must include {platform.replace(chr(92), '')} (the Synchronization module's first release)")
    return failures


def self_test():
    bad = "import Glibc\nlet n = send(s, p, c, Int32(MSG_NOSIGNAL))\nlet k = Int32(SOCK_STREAM.rawValue)\n"
    good = ("#if canImport(Glibc)\nimport Glibc\n#endif\n#if os(Linux)\nlet k = Int32(SOCK_STREAM.rawValue)\n"
            "#else\nlet k = SOCK_STREAM\n#endif\n#if canImport(Darwin)\nvar a: posix_spawn_file_actions_t? = nil\n"
            "#else\nvar a = posix_spawn_file_actions_t()\n#endif\n// Glibc in a comment is fine\n")
    assert [n for n, _ in problems_in(bad, "bad")] == [1, 2, 3], problems_in(bad, "bad")
    assert problems_in(good, "good") == [], problems_in(good, "good")
    print("apple_portability self-test: passed")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    failures = check(root)
    for failure in failures:
        print(failure)
    if failures:
        print(f"apple_portability: {len(failures)} problem(s) that would break an Apple-platform build")
        sys.exit(1)
    print("apple_portability: no unguarded Linux-only APIs; Package.swift declares the Apple platforms")
