#!/bin/sh
# localreview in CI, for Jenkins or any runner with a POSIX shell (docs/ci.md explains it).
#
#   scripts/ci-review.sh        index (cached), review $CI_REVIEW_BASE...HEAD, write the reports
#
# Settings, from the environment:
#   CI_REVIEW_BASE       review BASE...HEAD: the branch's changes since it left BASE (default origin/main)
#   CI_REVIEW_OUT        folder for the reports (default localreview-reports)
#   CI_REVIEW_FORMATS    report formats (default "sarif codequality"; also json, markdown, text)
#   CI_REVIEW_CACHE      a folder kept between runs: the index is restored from it and saved to it
#   CI_REVIEW_FAIL_OPEN  1: pass with a warning when the model cannot be reached (exit 3)
#   CI_REVIEW_TRACE      1: run every step under strace and fail on any non-loopback connect/send
#   LOCALREVIEW          the command to run (default: localreview on PATH)
#   LOCALREVIEW_*        localreview's own settings (BACKEND, HOST, MODEL, FAIL_ON, ...): `localreview config`
#
# Exit codes: 0 no finding at or above fail_on; 1 findings at or above it (the reports are written);
# 2 bad input (no base revision, a shallow clone, a bad setting); 3 environment failure.

set -u

BASE=${CI_REVIEW_BASE:-origin/main}
OUT=${CI_REVIEW_OUT:-localreview-reports}
FORMATS=${CI_REVIEW_FORMATS:-sarif codequality}
LR=${LOCALREVIEW:-localreview}
CACHE=${CI_REVIEW_CACHE:-}

say() { printf 'ci-review: %s\n' "$*" >&2; }
die() { code=$1; shift; say "$*"; exit "$code"; }

# Run localreview, under strace when the egress check is on. $1 names the trace file.
run() {
    step=$1; shift
    if [ "${CI_REVIEW_TRACE:-0}" = 1 ]; then
        strace $SECCOMP -f -qq -e trace=connect,sendto,sendmsg -e signal=none -o "$OUT/trace-$step.txt" $LR "$@"
    else
        $LR "$@"
    fi
}

report_file() {
    case $1 in
        sarif) echo "$OUT/localreview.sarif" ;;
        codequality) echo "$OUT/gl-code-quality-report.json" ;;
        json) echo "$OUT/localreview.json" ;;
        markdown) echo "$OUT/localreview.md" ;;
        text) echo "$OUT/localreview.txt" ;;
        *) return 1 ;;
    esac
}

# Any socket address in the traces that is not loopback (127/8, ::1, ::ffff:127/104) is egress.
check_egress() {
    [ "${CI_REVIEW_TRACE:-0}" = 1 ] || return 0
    leaks=$(cat "$OUT"/trace-*.txt 2>/dev/null |
        grep -E 'sin_addr=inet_addr\("|inet_pton\(AF_INET6, "' |
        grep -vE 'inet_addr\("127\.|inet_pton\(AF_INET6, "(::1|::ffff:127\.[0-9.]+)"' || true)
    if [ -n "$leaks" ]; then
        say "EGRESS: these connections left the machine:"
        printf '%s\n' "$leaks" >&2
        exit 3
    fi
    say "egress check: no connection beyond loopback (traces in $OUT/)"
}

# 1. Installed from the mirrored wheels: nothing is downloaded here.
$LR --version >/dev/null 2>&1 ||
    die 3 "'$LR' does not run: pip install --no-index --find-links \"\$WHEELHOUSE\" 'localreview[embedded]'"
SECCOMP=
if [ "${CI_REVIEW_TRACE:-0}" = 1 ]; then
    command -v strace >/dev/null 2>&1 ||
        die 3 "CI_REVIEW_TRACE=1 needs strace: install it in the runner image, or unset CI_REVIEW_TRACE"
    # Stop only at the traced calls (strace 5.3+): tracing then costs almost nothing.
    strace --seccomp-bpf -f -o /dev/null true 2>/dev/null && SECCOMP=--seccomp-bpf
fi

# 2. A work tree that holds the base revision and the merge base (shallow clones often do not).
root=$(git rev-parse --show-toplevel 2>/dev/null) || die 2 "not inside a git work tree: run this in the checkout"
cd "$root" || die 2 "cannot enter $root"
git rev-parse --verify --quiet "$BASE^{commit}" >/dev/null ||
    die 2 "$BASE is not in this clone: fetch it first, e.g. git fetch origin main:refs/remotes/origin/main"
git merge-base "$BASE" HEAD >/dev/null 2>&1 ||
    die 2 "$BASE and HEAD share no commit here: the clone is too shallow; git fetch --unshallow (or a larger depth)"
mkdir -p "$OUT" || die 2 "cannot create the report folder $OUT"
for fmt in $FORMATS; do
    report_file "$fmt" >/dev/null ||
        die 2 "unknown format '$fmt' in CI_REVIEW_FORMATS: use sarif, codequality, json, markdown or text"
done

# 3. The index: restored from the cache, updated for what changed, saved back.
if [ -n "$CACHE" ] && [ -d "$CACHE/.localreview" ] && [ ! -d .localreview ]; then
    cp -R "$CACHE/.localreview" .localreview && say "index restored from $CACHE"
fi
run index index --quiet || die 3 "indexing failed (see above); \`localreview doctor\` on this runner says why"
if [ -n "$CACHE" ]; then
    # Copy, then swap: a run killed half-way never leaves a half-copied index in the cache.
    { mkdir -p "$CACHE" && rm -rf "$CACHE/.localreview.new" && cp -R .localreview "$CACHE/.localreview.new" &&
      rm -rf "$CACHE/.localreview" && mv "$CACHE/.localreview.new" "$CACHE/.localreview"; } ||
        say "warning: could not save the index to $CACHE; the next run indexes from scratch"
fi

# 4. The review, one report per format. Each format is one review run: list only those you use.
status=0
for fmt in $FORMATS; do
    file=$(report_file "$fmt")
    run "review-$fmt" diff "$BASE...HEAD" --format "$fmt" --output "$file"
    rc=$?
    case $rc in
        0) say "$fmt report: $file" ;;
        1) say "$fmt report: $file (findings at or above fail_on)"; status=1 ;;
        3) if [ "${CI_REVIEW_FAIL_OPEN:-0}" = 1 ]; then
               say "warning: the review could not run (exit 3, see above); passing because CI_REVIEW_FAIL_OPEN=1"
               check_egress
               exit 0
           fi
           die 3 "the review could not run (see above); \`localreview doctor\` on this runner says why" ;;
        *) die "$rc" "localreview diff failed with exit $rc (see above)" ;;
    esac
done

check_egress
exit $status
