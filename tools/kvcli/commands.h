// The kvcli commands, one function each, named by their spec in the command
// table (command_table.cc): RunKvcli (kvcli.cc) checks the command line
// against the spec, resolves the store and calls the function, which reports
// through its Context and returns the exit status. `help` is different: it
// runs without a Context (help.h).
#ifndef SHMKV_TOOLS_KVCLI_COMMANDS_H_
#define SHMKV_TOOLS_KVCLI_COMMANDS_H_

#include <string>
#include <vector>

#include "tools/kvcli/context.h"

namespace shmkv {
namespace kvcli {

// entry_commands.cc: single entries and the key list.
int RunGet(Context& ctx);
int RunPut(Context& ctx);
int RunDel(Context& ctx);
int RunIncr(Context& ctx);
int RunTouch(Context& ctx);
int RunKeys(Context& ctx);

// admin_commands.cc: whole stores, and the stores on the host.
int RunCreate(Context& ctx);
int RunInfo(Context& ctx);
int RunCheck(Context& ctx);
int RunFlush(Context& ctx);
int RunDestroy(Context& ctx);
int RunLs(Context& ctx);

// stats_command.cc: the counters, once or --watch.
int RunStats(Context& ctx);

// dump_command.cc: a store's live entries to a snapshot file.
int RunDump(Context& ctx);

// snapshot_commands.cc: a snapshot file into a store.
int RunLoad(Context& ctx);

// bigkeys_command.cc: the entries with the largest values.
int RunBigkeys(Context& ctx);

// serve_command.cc: the HTTP endpoint (metrics, JSON, dashboard).
int RunServe(Context& ctx);

// near_get.cc: get --through=ADDR, reads through the near cache in front of
// Redis.
int RunGetThrough(Context& ctx, const std::vector<std::string>& keys);

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_COMMANDS_H_
