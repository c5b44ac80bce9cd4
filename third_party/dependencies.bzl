"""shmkv_dependencies(): every external repository the shmkv library needs,
each resolved to a Debian package (third_party/debian_repositories.bzl).

A workspace that uses shmkv needs, in its WORKSPACE:

    local_repository(name = "shmkv", path = "/path/to/shmkv")   # or http_archive
    load("@shmkv//third_party:dependencies.bzl", "shmkv_dependencies")
    shmkv_dependencies()

and depends on "@shmkv//kv:shmkv" (C++, #include "shmkv/store.h") or
"@shmkv//kv/c" (C, #include "shmkv/shmkv.h"). Repositories the workspace
already defines under the same names are left as they are.
"""

load(
    ":debian_repositories.bzl",
    "coverage_tools_stub",
    "debian_rules_cc",
    "system_abseil",
    "system_library",
)

# The Abseil targets shmkv uses, with the Debian libraries each links. The
# labels are upstream Abseil's, so a source checkout can replace this rule.
ABSEIL_TARGETS = {
    "absl/base:core_headers": "",
    "absl/base:base": "absl_base",
    "absl/cleanup:cleanup": "",
    "absl/container:flat_hash_map": "absl_raw_hash_set absl_hash",
    "absl/container:flat_hash_set": "absl_raw_hash_set absl_hash",
    "absl/container:inlined_vector": "",
    "absl/functional:function_ref": "",
    "absl/hash:hash": "absl_hash",
    "absl/random:random": "absl_random_internal_pool_urbg absl_random_seed_sequences absl_random_internal_randen absl_random_internal_randen_hwaes absl_random_internal_randen_hwaes_impl absl_random_internal_randen_slow absl_random_internal_seed_material absl_random_internal_platform absl_random_distributions absl_random_seed_gen_exception",
    "absl/status:status": "absl_status absl_cord",
    "absl/status:statusor": "absl_statusor absl_status",
    "absl/strings:strings": "absl_strings absl_strings_internal absl_int128 absl_throw_delegate absl_raw_logging_internal",
    "absl/strings:str_format": "absl_str_format_internal absl_strings",
    "absl/synchronization:synchronization": "absl_synchronization",
    "absl/time:time": "absl_time absl_time_zone absl_int128",
    "absl/types:optional": "",
    "absl/types:span": "",
}

def _undefined(name):
    return native.existing_rule(name) == None

def shmkv_dependencies():
    """Defines rules_cc, rules_java, remote_coverage_tools, com_google_absl and hiredis.

    hiredis is needed only by the near cache (@shmkv//kv/near:near_cache); Bazel
    looks for it only when a target that depends on it is built.
    """
    if _undefined("rules_cc"):
        debian_rules_cc(name = "rules_cc")

    # Bazel 4.2.3 registers Java toolchains even for C++ builds.
    if _undefined("rules_java"):
        native.local_repository(
            name = "rules_java",
            path = "/usr/share/bazel/rules/java",
        )

    # `bazel test` wants these targets even when coverage is off.
    if _undefined("remote_coverage_tools"):
        coverage_tools_stub(name = "remote_coverage_tools")
    if _undefined("com_google_absl"):
        system_abseil(
            name = "com_google_absl",
            targets = ABSEIL_TARGETS,
        )

    # The Redis client of the near cache (kv/near) and kvsync (tools/kvsync).
    if _undefined("hiredis"):
        system_library(
            name = "hiredis",
            build_file = Label("//third_party:hiredis.BUILD"),
            package = "libhiredis-dev",
            required_paths = ["/usr/include/hiredis/hiredis.h"],
        )
