"""node_addon: a Node-API addon as Node loads it (NAME.node)."""

load("@rules_cc//cc:defs.bzl", "cc_binary")

def node_addon(name, out, srcs, deps):
    """The shared library of srcs and deps, copied to `out` (e.g. shmkv.node).

    Bazel names a shared cc_binary lib*.so unless its name ends in .so; Node
    loads an addon by the .node suffix. Symbols are hidden but for the
    addon's entry point (NODE_API_MODULE).
    """
    cc_binary(
        name = name + ".so",
        srcs = srcs,
        copts = ["-fvisibility=hidden"],
        linkshared = True,
        linkstatic = True,
        deps = deps + [
            "@com_google_absl//absl/status",
            "@com_google_absl//absl/status:statusor",
            "@com_google_absl//absl/strings",
            "@com_google_absl//absl/time",
            "@system_node//:node_addon_api",
        ],
    )
    native.genrule(
        name = name,
        srcs = [":" + name + ".so"],
        outs = [out],
        cmd = "cp $< $@",
        visibility = ["//visibility:public"],
    )
