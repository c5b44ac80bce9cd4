"""fuzzer: a libFuzzer target and the test that runs its invariants in every
`bazel test`."""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_test")

def fuzzer(
        name,
        srcs,
        deps,
        test_srcs,
        test_name = None,
        test_size = "small",
        test_deps = [],
        fuzzer_srcs = [],
        testonly = False):
    """cc_binary `name`, the libFuzzer target over `srcs` and `fuzzer_srcs`
    (tagged manual, so that a plain build needs no -fsanitize=fuzzer:
    tools/run_fuzzers.sh builds and runs it), and cc_test `test_name`
    (NAME_test unless given): `srcs` again with `test_srcs` and `test_deps`,
    under the guarded test main, which runs the fuzzer's invariants over the
    inputs the test gives."""
    cc_binary(
        name = name,
        testonly = testonly,
        srcs = srcs + fuzzer_srcs,
        copts = ["-fsanitize=fuzzer"],
        linkopts = ["-fsanitize=fuzzer"],
        tags = [
            "fuzzer",
            "manual",
        ],
        deps = deps,
    )
    cc_test(
        name = test_name or name + "_test",
        size = test_size,
        srcs = srcs + test_srcs,
        # A fuzz target runs one input at a time on one thread: there is no
        # race for ThreadSanitizer to find, only minutes of its slowdown.
        # ASan and UBSan run it.
        tags = ["no_tsan"],
        deps = deps + test_deps + ["//testing:gtest_main"],
    )
