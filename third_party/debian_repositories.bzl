"""Repository rules that resolve every external dependency to a Debian package.

The build machines reach Debian's archive only, so nothing here downloads.
Each rule points Bazel at files that `tools/setup.sh` installs with apt-get.
"""

def _debian_rules_cc_impl(ctx):
    root = ctx.path(ctx.attr.path)
    if not root.exists:
        fail("rules_cc not found at %s: install the Debian package bazel-rules-cc (bash tools/setup.sh)" % root)

    # Copy the tree, then make it loadable by Bazel 4.2.3: two files load
    # use_cpp_toolchain(), which Bazel 4.2.3's toolchain_utils.bzl lacks.
    result = ctx.execute(["cp", "-a", str(root) + "/.", "."])
    if result.return_code != 0:
        fail("copying rules_cc failed: " + result.stderr)
    for rel in [
        "cc/private/rules_impl/compiler_flag.bzl",
        "cc/private/rules_impl/cc_flags_supplier.bzl",
    ]:
        text = ctx.read(rel)
        text = text.replace(', "use_cpp_toolchain")', ")")
        text = text.replace("use_cpp_toolchain()", '["@bazel_tools//tools/cpp:toolchain_type"]')
        ctx.file(rel, text, executable = False)

debian_rules_cc = repository_rule(
    implementation = _debian_rules_cc_impl,
    attrs = {"path": attr.string(default = "/usr/share/bazel/rules/cc")},
    local = True,
)

def _coverage_tools_stub_impl(ctx):
    # `bazel test` references these two targets even when coverage is off.
    # No Debian package ships them; coverage is not collected by this project.
    ctx.file("WORKSPACE", "workspace(name = \"remote_coverage_tools\")\n")
    ctx.file("noop.sh", "#!/bin/sh\nexit 0\n", executable = True)
    ctx.file("BUILD", """
package(default_visibility = ["//visibility:public"])
sh_binary(name = "coverage_report_generator", srcs = ["noop.sh"])
sh_binary(name = "lcov_merger", srcs = ["noop.sh"])
filegroup(name = "coverage_output_generator", srcs = ["noop.sh"])
""")

coverage_tools_stub = repository_rule(implementation = _coverage_tools_stub_impl)

def _system_library_impl(ctx):
    for header_dir in ctx.attr.required_paths:
        if not ctx.path(header_dir).exists:
            fail("%s is missing: install the Debian package %s (bash tools/setup.sh)" %
                 (header_dir, ctx.attr.package))
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.symlink(ctx.attr.build_file, "BUILD")

system_library = repository_rule(
    implementation = _system_library_impl,
    attrs = {
        "build_file": attr.label(mandatory = True),
        "package": attr.string(mandatory = True),
        "required_paths": attr.string_list(),
    },
    local = True,
)

def _system_abseil_impl(ctx):
    if not ctx.path("/usr/include/absl/base/config.h").exists:
        fail("Abseil headers are missing: install the Debian package libabsl-dev (bash tools/setup.sh)")
    ctx.file("WORKSPACE", "workspace(name = \"com_google_absl\")\n")

    # Mirror upstream's package/target labels; each target links the Debian
    # shared libraries it needs (they record their own dependencies).
    packages = {}
    for label, libs in ctx.attr.targets.items():
        pkg, name = label.split(":")
        packages.setdefault(pkg, []).append((name, libs))
    for pkg, targets in packages.items():
        lines = ['load("@rules_cc//cc:defs.bzl", "cc_library")', 'package(default_visibility = ["//visibility:public"])']
        for name, libs in targets:
            linkopts = ["-l" + lib for lib in libs.split(" ") if lib]
            lines.append("cc_library(name = %r, linkopts = %r)" % (name, linkopts))
        ctx.file(pkg + "/BUILD", "\n".join(lines) + "\n")

system_abseil = repository_rule(
    implementation = _system_abseil_impl,
    attrs = {"targets": attr.string_dict(mandatory = True)},
    local = True,
)

def _system_python_impl(ctx):
    python = ctx.attr.interpreter
    if not ctx.path(python).exists:
        fail("%s is missing: install the Debian package python3-dev (bash tools/setup.sh)" % python)
    result = ctx.execute([python, "-c", "import sysconfig; " +
                                        "print(sysconfig.get_paths()['include']); " +
                                        "print(sysconfig.get_config_var('EXT_SUFFIX'))"])
    if result.return_code != 0:
        fail("asking %s for its include directory failed: %s" % (python, result.stderr))
    include_dir, ext_suffix = result.stdout.strip().split("\n")
    if not ctx.path(include_dir + "/Python.h").exists:
        fail("%s/Python.h is missing: install the Debian package python3-dev (bash tools/setup.sh)" % include_dir)
    if not ctx.path("/usr/include/pybind11/pybind11.h").exists:
        fail("pybind11 is missing: install the Debian package pybind11-dev (bash tools/setup.sh)")
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.symlink(include_dir, "python_include")
    ctx.symlink("/usr/include/pybind11", "pybind11_include/pybind11")

    # The interpreter the module is built for, and the file name it imports
    # extension modules by (e.g. shmkv.cpython-311-x86_64-linux-gnu.so).
    ctx.file("defs.bzl", "PYTHON = %r\nEXT_SUFFIX = %r\n" % (python, ext_suffix))
    ctx.file("BUILD", """
load("@rules_cc//cc:defs.bzl", "cc_library")
package(default_visibility = ["//visibility:public"])
exports_files(["defs.bzl"])
cc_library(
    name = "python_headers",
    hdrs = glob(["python_include/**/*.h"]),
    includes = ["python_include"],
)
cc_library(
    name = "pybind11",
    hdrs = glob(["pybind11_include/pybind11/**/*.h"]),
    includes = ["pybind11_include"],
    deps = [":python_headers"],
)
""")

system_python = repository_rule(
    implementation = _system_python_impl,
    attrs = {"interpreter": attr.string(default = "/usr/bin/python3")},
    local = True,
)

def _system_node_impl(ctx):
    # Node-API's C headers come with Node itself: Debian's libnode-dev (Node
    # 18) or the nodejs package of NodeSource's archive (Node 20) both put
    # them in /usr/include/node. node-addon-api, the C++ wrapper, is the one
    # piece Debian cannot give next to NodeSource's nodejs: it comes from the
    # npm registry, pinned by kv/node/package-lock.json (tools/setup.sh runs
    # `npm ci` there).
    include_dir = ctx.attr.include_dir
    if not ctx.path(include_dir + "/node_api.h").exists:
        fail("%s/node_api.h is missing: install Node.js and its headers (the Debian packages nodejs and libnode-dev; bash tools/setup.sh)" % include_dir)
    lock = ctx.path(ctx.attr.lock_file)
    addon_api = lock.dirname.get_child("node_modules").get_child("node-addon-api")
    if not addon_api.get_child("napi.h").exists:
        fail("%s/napi.h is missing: run `npm ci` in kv/node (bash tools/setup.sh does)" % addon_api)
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.symlink(include_dir, "node_include")
    ctx.symlink(addon_api, "addon_api_include")

    # TypeScript and Node's types, devDependencies for the typings' test
    # (tests/node): empty when `npm ci` predates them, and that test says so.
    modules = lock.dirname.get_child("node_modules")
    for scope, package in [("", "typescript"), ("@types", "node"), ("", "undici-types")]:
        where = modules.get_child(scope) if scope else modules
        if where.get_child(package).exists:
            name = scope + "/" + package if scope else package
            ctx.symlink(where.get_child(package), "node_modules/" + name)
    ctx.file("BUILD", """
load("@rules_cc//cc:defs.bzl", "cc_library")
package(default_visibility = ["//visibility:public"])
cc_library(
    name = "node_api",
    hdrs = glob(["node_include/*.h"]),
    includes = ["node_include"],
)
cc_library(
    name = "node_addon_api",
    hdrs = glob(["addon_api_include/*.h"]),
    includes = ["addon_api_include"],
    deps = [":node_api"],
)
filegroup(
    name = "typescript",
    srcs = glob(["node_modules/**"]),
)
""")

system_node = repository_rule(
    implementation = _system_node_impl,
    attrs = {
        "include_dir": attr.string(default = "/usr/include/node"),
        "lock_file": attr.label(default = Label("//kv/node:package-lock.json")),
    },
    local = True,
)
