#!/usr/bin/env bash
# Mutation check: applies small, plausible bugs to kv/ one at a time and runs
# the tests that must catch each, printing caught/MISSED per mutant and a
# score. A missed mutant is a blind spot of the suite: add the test that
# catches it to the suite of its subject (tests/README.md).
#
#   bash tools/mutate.sh              # every mutant
#   bash tools/mutate.sh NAME...      # only these
#   bash tools/mutate.sh --list       # names and targets
#
# It never touches this checkout: it refuses a tree with uncommitted changes,
# copies the committed tree (git archive HEAD) to a throwaway directory
# (MUTATE_DIR, default ${TMPDIR:-/tmp}/shmkv-mutate; reusing it keeps Bazel's
# cache warm between runs) and mutates only the copy. Slow (a build and a
# test run per mutant), so it is not part of tools/test.sh.
set -euo pipefail

names=() files=() targets=() originals=() replacements=() known=()

# mutant NAME FILE "TARGET..." ORIGINAL REPLACEMENT: replace the one
# occurrence of ORIGINAL (exact text, may span lines) in FILE; the bazel test
# TARGETs must then fail.
# A sixth argument marks a known miss and says why no test can catch it: it
# is reported and scored as missed, but does not fail the run.
mutant() {
  names+=("$1") files+=("$2") targets+=("$3") originals+=("$4") replacements+=("$5")
  known+=("${6:-}")
}

records=//kv/internal:stripe_records_test
expiry=//tests:expiry_test
creation=//tests:creation_test
recovery=//tests/reliability:recovery_test
crash=//tests/reliability:crash_point_test

# ---- record bounds, expiry boundaries, eviction's reference bit, startup, rebuilds ----
mutant resolve-header-past-slice kv/internal/stripe.cc "$records" \
  '  if (offset + kEntryHeaderBytes > size) return nullptr;' \
  '  if (offset >= size) return nullptr;'
mutant resolve-record-past-slice kv/internal/stripe.cc "$records" \
  '  if (!SaneHeader(*header, size - offset)) return nullptr;' \
  '  if (!SaneHeader(*header, size)) return nullptr;'
mutant expiry-read-lt kv/internal/segment_store.cc "$expiry" \
  '  return found.header.expires_at_ms <= *now;' \
  '  return found.header.expires_at_ms < *now;'
mutant expiry-tail-lt kv/internal/stripe_reclaim.cc "$expiry" \
  '  return h.expires_at_ms <= *now;' \
  '  return h.expires_at_ms < *now;'
mutant copy-keeps-reference-bit kv/internal/stripe_reclaim.cc //tests:cache_semantics_test \
  '        copy->bits = static_cast<uint8_t>(h.bits & ~kReferenced);' \
  '        copy->bits = h.bits;'
mutant sem-no-wait-for-creator kv/platform/ipc.cc "$creation" \
  '    while (SemInitialised(*existing) == 0 && MonotonicNow() < deadline) {' \
  '    while (false && SemInitialised(*existing) == 0 && MonotonicNow() < deadline) {'
mutant rebuild-keeps-lower-version kv/internal/stripe_recovery.cc "$recovery" \
  '  } else if (old->header.version > h.version) {' \
  '  } else if (old->header.version < h.version) {'
mutant rebuild-keeps-later-record kv/internal/stripe_recovery.cc "$recovery" \
  '  } else if (old->header.version > h.version) {' \
  '  } else if ((false)) {'
mutant rebuild-keeps-next-version kv/internal/stripe_recovery.cc "$recovery" \
  '  if (stripe_->next_version < next) stripe_->next_version = next;' \
  '  (void)next;'
mutant rebuild-next-version-off-by-one kv/internal/stripe_recovery.cc "$recovery" \
  '  const uint64_t next = max_version / geometry_.stripe_count + 1;' \
  '  const uint64_t next = max_version / geometry_.stripe_count;'
mutant failed-open-keeps-semaphore kv/open_and_destroy.cc "$creation" \
  '  if (!store.ok() && created_sem) {' \
  '  if (false && created_sem) {'

# ---- who is trusted, and what counts as abandoned ----
mutant segment-trusts-owner-uid kv/internal/probe.cc //tests:ownership_test \
  '  // to anyone, so an owner uid equal to ours proves nothing.
  const uid_t me = geteuid();
  if (allow_foreign_owner || st.creator_uid == me) return absl::OkStatus();' \
  '  // to anyone, so an owner uid equal to ours proves nothing.
  const uid_t me = geteuid();
  if (allow_foreign_owner || st.owner_uid == me) return absl::OkStatus();'
mutant abandoned-ignores-attachments kv/open_and_destroy.cc "$creation" \
  '  return st.attached == 0 && !platform::ProcessExists(st.creator_pid);' \
  '  return !platform::ProcessExists(st.creator_pid);'

# ---- crash recovery, through the crash points ----
# Commit (publishing head) moved from after the record's bytes to before
# them: the early call is added, and a local lambda named Commit shadows the
# member function for the call after the bytes.
mutant head-published-before-bytes kv/internal/stripe.cc "$crash" \
  '  char* p = reinterpret_cast<char*>(entry);' \
  '  char* p = reinterpret_cast<char*>(entry);
  Commit(bytes);
  const auto Commit = [](uint64_t) {};'
mutant no-rebuild-after-owner-death kv/internal/segment_store.cc "$crash" \
  '      view.Rebuild();
      ++s->owner_deaths;' \
  '      ++s->owner_deaths;'
mutant no-mutex-consistent kv/internal/segment_store.cc "$crash" \
  '      platform::MarkConsistent(&s->mutex);' \
  '      (void)platform::MarkConsistent;'
mutant move-keeps-old-slot kv/internal/stripe_reclaim.cc "//tests:cache_semantics_test $recovery" \
  '        Publish(*slot, SlotFor(copy, hash));' \
  '        (void)copy;'

# ---- the scan-hold hook (a test hook, compiled in by the *_test_hooks twins) ----
mutant scan-hold-not-reported kv/internal/segment_store_scan.cc //tests:scan_lock_allocation_test \
  '    SHMKV_TEST_HOOK(meter.Report(stripe, from, chunk_.size()));' \
  '    SHMKV_TEST_HOOK((void)meter);'

# ---- the index, counters and limits ----
mutant delete-shift-off-by-one kv/internal/stripe.cc //tests:store_index_test \
  '    if (from_home >= from_hole) {' \
  '    if (from_home > from_hole) {'
mutant index-limit-off-by-one kv/internal/layout.h //kv/internal:geometry_test \
  'return slots - (slots / 8 > 0 ? slots / 8 : 1);' \
  'return slots - (slots / 8 > 1 ? slots / 8 - 1 : 1);'
mutant delete-leaves-record-live kv/internal/stripe.cc //tests:store_index_test \
  'absl::Status StripeView::Remove(const Located& found, bool expired) {
  Publish(&found.entry->state, static_cast<uint8_t>(kDead));' \
  'absl::Status StripeView::Remove(const Located& found, bool expired) {'
mutant overwrite-keeps-old-counters kv/internal/stripe.cc //tests:store_index_test \
  '    Account(old->header, -1);
  }
  Account(h, +1);' \
  '  }
  Account(h, +1);'
mutant full-index-accepts-new-key kv/internal/stripe.cc //tests:store_index_test \
  '    } else if (IndexCrowded()) {' \
  '    } else if (false) {'
# ---- batches (GetMany, PutMany) ----
mutant batch-reverses-repeated-keys kv/internal/segment_store_batch.cc //tests:store_batch_test \
  'a.stripe < b.stripe : a.item < b.item;' \
  'a.stripe < b.stripe : a.item > b.item;'
mutant batch-keeps-stale-value kv/internal/segment_store_batch.cc //tests:store_batch_test \
  '        r.value.clear();
' \
  ''
mutant batch-abandons-nothing kv/internal/segment_store_batch.cc //tests:store_batch_test \
  '        for (size_t j = group; j < n; ++j) abandon(pending[j].item, s);' \
  '        (void)abandon;'
mutant key-size-limit-off-by-one kv/internal/segment_store.cc //tests:store_basic_test \
  '  if (key.size() > geometry_.max_key_size) {' \
  '  if (key.size() >= geometry_.max_key_size) {'
# ---- the near cache's sync (kvsync) ----
mutant resync-skips-clear tools/kvsync/syncer.cc //tests/near:near_cache_test \
  '  absl::Status s = ChangePhase(SyncPhase::kConnecting);
  absl::StatusOr<uint64_t> cleared = s.ok() ? ClearPrefixes() : absl::StatusOr<uint64_t>(s);' \
  '  absl::Status s = ChangePhase(SyncPhase::kConnecting);
  absl::StatusOr<uint64_t> cleared = s.ok() ? absl::StatusOr<uint64_t>(0) : absl::StatusOr<uint64_t>(s);'
mutant kvsync-clear-skips-a-nonempty-store tools/kvsync/syncer.cc //tests/near:near_cache_test \
  '  if (!stats.ok() || stats->index_entries != 1) return false;' \
  '  if (!stats.ok()) return false;'
# ---- the near cache's history (reads checked against the writes, with faults) ----
history=//tests/near/history:near_history_test
mutant kvsync-skips-some-invalidations tools/kvsync/syncer.cc "$history" \
  '      absl::Status s = store_->Delete(key.str);' \
  '      absl::Status s = key.str.back() == '"'3'"' ? absl::OkStatus() : store_->Delete(key.str);'
mutant near-ignores-heartbeat-age kv/near/sync_state.cc "$history" \
  '  if (health.heartbeat_age > heartbeat_timeout) {' \
  '  if ((false) && health.heartbeat_age > heartbeat_timeout) {'
mutant near-shares-connection-after-fork kv/near/near_cache.cc "$history" \
  '  if (connection_ != nullptr && connection_pid_ != pid) {' \
  '  if ((false) && connection_pid_ != pid) {'
mutant publish-relaxed kv/internal/layout.h "$crash //tests:store_multiprocess_test" \
  '  __atomic_store_n(field, value, __ATOMIC_RELEASE);' \
  '  __atomic_store_n(field, value, __ATOMIC_RELAXED);' \
  'x86-64 keeps stores in order and the compiler happens not to reorder these; only review sees it'

if [[ "${1:-}" == "--list" ]]; then
  for i in "${!names[@]}"; do printf '%-34s %-30s %s\n' "${names[$i]}" "${files[$i]}" "${targets[$i]}"; done
  exit 0
fi

selected=()
if (($# == 0)); then
  selected=("${!names[@]}")
else
  for want in "$@"; do
    found=0
    for i in "${!names[@]}"; do
      if [[ "${names[$i]}" == "$want" ]]; then selected+=("$i") found=1; fi
    done
    ((found)) || { echo "mutate: no mutant named $want (see --list)" >&2; exit 2; }
  done
fi

repo=$(cd "$(dirname "$0")/.." && git rev-parse --show-toplevel)
if [[ -n "$(git -C "$repo" status --porcelain)" ]]; then
  echo "mutate: $repo has uncommitted changes; commit or stash them (mutants run on a copy of HEAD)" >&2
  exit 2
fi
work=${MUTATE_DIR:-${TMPDIR:-/tmp}/shmkv-mutate}
src=$work/src
logs=$work/logs
rm -rf "$src" "$logs"
mkdir -p "$src" "$logs"
git -C "$repo" archive HEAD | tar -x -C "$src"
cd "$src"
trap 'bazel shutdown >/dev/null 2>&1 || true' EXIT

# Replaces the one occurrence of $2 in file $1 with $3; fails if there is
# not exactly one.
apply() {
  local content rest
  content=$(cat "$1"; printf x)
  content=${content%x}
  rest=${content#*"$2"}
  if [[ "$rest" == "$content" || "$rest" == *"$2"* ]]; then return 1; fi
  printf '%s' "${content%%"$2"*}$3$rest" >"$1"
}

all_targets=()
for i in "${selected[@]}"; do read -r -a t <<<"${targets[$i]}"; all_targets+=("${t[@]}"); done
mapfile -t all_targets < <(printf '%s\n' "${all_targets[@]}" | sort -u)
echo "mutate: baseline: ${all_targets[*]}" >&2
if ! bazel test --test_output=errors "${all_targets[@]}" >"$logs/baseline.log" 2>&1; then
  echo "mutate: the unmutated tree fails its tests; see $logs/baseline.log" >&2
  exit 1
fi

caught=0 missed=0 known_missed=0 invalid=0
for i in "${selected[@]}"; do
  name=${names[$i]} file=${files[$i]}
  read -r -a t <<<"${targets[$i]}"
  cp "$file" "$logs/pristine"
  if ! apply "$file" "${originals[$i]}" "${replacements[$i]}"; then
    printf '%-34s STALE (its original text is not in %s exactly once)\n' "$name" "$file"
    invalid=$((invalid + 1))
    continue
  fi
  rc=0
  bazel test --test_output=errors "${t[@]}" >"$logs/$name.log" 2>&1 || rc=$?
  cp "$logs/pristine" "$file"
  case $rc in
    0)
      if [[ -n "${known[$i]}" ]]; then
        printf '%-34s missed (known: %s)\n' "$name" "${known[$i]}"
        known_missed=$((known_missed + 1))
      else
        printf '%-34s MISSED by %s\n' "$name" "${t[*]}"
        missed=$((missed + 1))
      fi
      ;;
    3) printf '%-34s caught\n' "$name"; caught=$((caught + 1)) ;;
    *) printf '%-34s INVALID (bazel exit %d: does it compile? %s)\n' "$name" "$rc" "$logs/$name.log"
       invalid=$((invalid + 1)) ;;
  esac
done
total=$((caught + missed + known_missed))
echo "mutate: score $caught/$total caught ($missed missed, $known_missed known misses, $invalid invalid); logs in $logs"
((missed == 0 && invalid == 0))
