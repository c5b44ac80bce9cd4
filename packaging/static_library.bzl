"""merged_static_library: one archive holding the objects of a library and of
every library of this repository it depends on, for users who link
statically without Bazel (Bazel 4 has no cc_static_library). Libraries of
other repositories (Abseil, hiredis) stay outside: the pkg-config file names
them, and so do the libraries named in `exclude` (those another installed
library provides: libshmkv_near.a leaves out the store and the C API, which
come from libshmkv).

shared_library: a shared library made of every object of such an archive,
exporting what its version script says."""

load("@rules_cc//cc:defs.bzl", "cc_binary")

def _merged_static_library_impl(ctx):
    own_workspaces = ["", ctx.label.workspace_name]
    excluded = [library.label for library in ctx.attr.exclude]
    archives = []
    for dep in ctx.attr.deps:
        for linker_input in dep[CcInfo].linking_context.linker_inputs.to_list():
            if linker_input.owner.workspace_name not in own_workspaces:
                continue
            if linker_input.owner in excluded:
                continue
            for library in linker_input.libraries:
                archive = library.pic_static_library or library.static_library
                if archive != None and archive not in archives:
                    archives.append(archive)
    out = ctx.actions.declare_file(ctx.attr.out)
    script = "create %s\n" % out.path
    for archive in archives:
        script += "addlib %s\n" % archive.path
    script += "save\nend\n"
    ctx.actions.run_shell(
        inputs = archives,
        outputs = [out],
        command = "printf '%s' \"$1\" | ar -M",
        arguments = [script],
        use_default_shell_env = True,
        mnemonic = "MergeStaticLibrary",
        progress_message = "Merging %d archives into %s" % (len(archives), out.short_path),
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

merged_static_library = rule(
    implementation = _merged_static_library_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        # Libraries whose own objects stay out (not those of their deps).
        "exclude": attr.label_list(providers = [CcInfo]),
        "out": attr.string(mandatory = True),
    },
)

def shared_library(name, soname, archive, version_script, deps, link_against = [], visibility = None):
    """A cc_binary `name` (a .so) holding every object of `archive` (a
    merged_static_library), linked whole: a shared library's deps would
    contribute only the members something refers to, none. The deps bring
    the link flags of the libraries of other repositories; `link_against`
    names shared libraries built here that it links to instead of copying
    their objects (found next to it at run time: its rpath is $ORIGIN).
    Every symbol must resolve at link time (-z defs), except under a
    sanitizer: there the runtime comes with the executable that loads the
    library, so the sanitizers' own symbols stay undefined in it."""
    cc_binary(
        name = name,
        additional_linker_inputs = [version_script, archive] + link_against,
        linkopts = [
            "-Wl,-soname," + soname,
            "-Wl,--version-script,$(location %s)" % version_script,
            "-Wl,--whole-archive",
            "$(location %s)" % archive,
            "-Wl,--no-whole-archive",
        ] + ["$(location %s)" % library for library in link_against] + (
            ["-Wl,-rpath,$$ORIGIN"] if link_against else []
        ) + select({
            "//packaging:sanitized_asan": [],
            "//packaging:sanitized_ubsan": [],
            "//packaging:sanitized_tsan": [],
            "//conditions:default": ["-Wl,-z,defs"],
        }),
        linkshared = True,
        linkstatic = True,
        visibility = visibility,
        deps = deps,
    )
