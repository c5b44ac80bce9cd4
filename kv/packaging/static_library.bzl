"""merged_static_library: one archive holding the objects of a library and of
every library of this repository it depends on, for users who link
statically without Bazel (Bazel 4 has no cc_static_library). Libraries of
other repositories (Abseil) stay outside: the pkg-config file names them."""

def _merged_static_library_impl(ctx):
    own_workspaces = ["", ctx.label.workspace_name]
    archives = []
    for dep in ctx.attr.deps:
        for linker_input in dep[CcInfo].linking_context.linker_inputs.to_list():
            if linker_input.owner.workspace_name not in own_workspaces:
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
        "out": attr.string(mandatory = True),
    },
)
