"""cc_tests: the test BUILD files' one list shape. Each suite of a package is
a cc_test NAME built from NAME.cc with the deps (and data) every test of the
list shares, plus its own: one `test(...)` per suite, so that a new suite is
one line."""

load("@rules_cc//cc:defs.bzl", "cc_test")

def test(name, size, deps = [], data = [], tags = []):
    """One suite of a cc_tests list: NAME.cc, its size, and the deps, data
    and tags it needs beyond the list's."""
    return struct(name = name, size = size, deps = deps, data = data, tags = tags)

def cc_tests(tests, deps = [], data = []):
    """A cc_test for each of `tests` (made by `test`), with `deps` and `data`
    added to its own."""
    for t in tests:
        cc_test(
            name = t.name,
            size = t.size,
            srcs = [t.name + ".cc"],
            data = data + t.data,
            tags = t.tags,
            deps = deps + t.deps,
        )
