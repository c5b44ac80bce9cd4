"""cc_library_with_crash_points: a library of the store and its testonly twin
NAME_crash_points, built from the same sources with SHMKV_CRASH_POINTS
defined (kv/internal/crash_point.h) and linked against the twins of the
libraries in `crash_point_deps`, so that a crash-point test links one whole
store with its crash points compiled in, and no production target links any
of them."""

load("@rules_cc//cc:defs.bzl", "cc_library")

CRASH_POINTS_SUFFIX = "_crash_points"

def cc_library_with_crash_points(
        name,
        deps = [],
        crash_point_deps = [],
        visibility = None,
        crash_points_visibility = None,
        **kwargs):
    """`crash_point_deps`: labels of libraries defined by this macro; the
    production library depends on them, the twin on their twins."""
    cc_library(
        name = name,
        deps = deps + crash_point_deps,
        visibility = visibility,
        **kwargs
    )
    cc_library(
        name = name + CRASH_POINTS_SUFFIX,
        testonly = True,
        local_defines = ["SHMKV_CRASH_POINTS"],
        deps = deps + [label + CRASH_POINTS_SUFFIX for label in crash_point_deps] + [
            "//kv/internal:crash_point_switch",
        ],
        visibility = crash_points_visibility,
        **kwargs
    )
