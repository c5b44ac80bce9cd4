// TEMPORARY forwarding header: these helpers moved to //kv/util (namespace
// shmkv::util). kvcli and kvbench still include this file and use the cli::
// names; it goes when its callers move to the kv/util headers.
#ifndef SHMKV_TOOLS_CLI_PARSE_H_
#define SHMKV_TOOLS_CLI_PARSE_H_

#include "kv/util/base64.h"
#include "kv/util/escape.h"
#include "kv/util/format.h"
#include "kv/util/json.h"
#include "kv/util/parse.h"

namespace shmkv::cli {

using util::Base64;
using util::EscapeKey;
using util::FormatBytes;
using util::FormatDuration;
using util::JsonString;
using util::ParseDuration;
using util::ParseIpcKey;
using util::ParseSize;
using util::UnescapeKey;

}  // namespace shmkv::cli

#endif  // SHMKV_TOOLS_CLI_PARSE_H_
