"""cc_library_with_test_hooks: a library of the store and its testonly twin
NAME_test_hooks, built from the same sources with SHMKV_TEST_HOOKS defined
and linked against the twins of the libraries in `test_hook_deps` and
against //kv/internal:test_hooks, so that a test or benchmark that uses a
test hook (the crash points of kv/internal/crash_point.h, the scan-hold hook
of kv/internal/scan_hook.h) links one whole store with every hook compiled
in, and no production target links any of them (tests/README.md, "Test
hooks")."""

load("@rules_cc//cc:defs.bzl", "cc_library")

TEST_HOOKS_SUFFIX = "_test_hooks"

def cc_library_with_test_hooks(
        name,
        deps = [],
        test_hook_deps = [],
        visibility = None,
        test_hooks_visibility = None,
        **kwargs):
    """`test_hook_deps`: labels of libraries defined by this macro; the
    production library depends on them, the twin on their twins."""
    cc_library(
        name = name,
        deps = deps + test_hook_deps,
        visibility = visibility,
        **kwargs
    )
    cc_library(
        name = name + TEST_HOOKS_SUFFIX,
        testonly = True,
        local_defines = ["SHMKV_TEST_HOOKS"],
        deps = deps + [label + TEST_HOOKS_SUFFIX for label in test_hook_deps] + [
            "//kv/internal:test_hooks",
        ],
        visibility = test_hooks_visibility,
        **kwargs
    )
