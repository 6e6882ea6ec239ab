#!/usr/bin/env bash
# check-report.sh — open a run's report (`sim report OUTDIR`) in headless Chromium and check
# that it shows what it should.
#
#   scripts/check-report.sh OUTDIR [REPORT.html]   check OUTDIR/report.html (or REPORT.html,
#                                                  the page of the run in OUTDIR)
#   scripts/check-report.sh --self-test OUTDIR     prove the checks fail on a page with its
#                                                  topology drawing or a section taken out
#
# Chromium loads the page from the file system with the network off, then
#   1. its DOM (--dump-dom: the page as the browser parsed it) must hold the title, every
#      section (summary, topology, plots, apps, drops, counters, network, paths,
#      snapshots), the topology's inline SVG with at least one node box and, when the run
#      has links, one link line, and its legend;
#   2. the plots section holds a figure with an SVG when OUTDIR has samples/*.csv, else
#      the note saying how to get samples;
#   3. the kernel paths section shows function chips when trace.txt has path lines, and
#      each snapshots/*.txt file is shown;
#   4. nothing is loaded from elsewhere (no src= or href= to another host, no <link>);
#   5. a screenshot (1280×2000) is a PNG of that size with more in it than a blank page.
#
# Output: `ok` or `BAD` per check, then `N passed, M failed`; exit 0 when all passed, 1
# otherwise (or Chromium missing), 2 for a usage error. The screenshot is kept at $SHOT
# (default: a temporary file, removed unless KEEP=1).
#
# Environment: CHROMIUM=/path/to/chromium picks the browser (default: chromium,
# chromium-browser or google-chrome, the first found); SHOT=FILE.png keeps the screenshot
# there; KEEP=1 keeps the temporary folder (DOM dump, browser log).
#
# Needs: bash, Chromium (Debian: apt-get install chromium), coreutils, grep, od.
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

die_usage() {
    echo "check-report: $*" >&2
    echo "usage: scripts/check-report.sh OUTDIR [REPORT.html] | --self-test OUTDIR" >&2
    exit 2
}

SELF_TEST=0
case "${1:-}" in
    -h | --help) usage; exit 0 ;;
    --self-test) SELF_TEST=1; shift ;;
    "") die_usage "no run folder given" ;;
esac
[ $# -ge 1 ] && [ $# -le 2 ] || die_usage "expected OUTDIR [REPORT.html]"
OUTDIR="$1"
REPORT="${2:-$OUTDIR/report.html}"
[ -d "$OUTDIR" ] || die_usage "$OUTDIR is not a folder"
[ -f "$REPORT" ] || { echo "check-report: $REPORT does not exist: write it with \`sim report $OUTDIR\`" >&2; exit 1; }

CHROMIUM="${CHROMIUM:-}"
if [ -z "$CHROMIUM" ]; then
    for c in chromium chromium-browser google-chrome; do
        if command -v "$c" >/dev/null 2>&1; then CHROMIUM="$c"; break; fi
    done
fi
if [ -z "$CHROMIUM" ] || ! command -v "$CHROMIUM" >/dev/null 2>&1; then
    echo "check-report: Chromium not found (Debian: apt-get install chromium; or set CHROMIUM=)" >&2
    exit 1
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/check-report.XXXXXX")"
if [ "${KEEP:-0}" = 1 ]; then
    echo "check-report: keeping $TMP"
else
    trap 'rm -rf "$TMP"' EXIT
fi

# Headless, offline, no first-run chores, a profile of its own; --no-sandbox because CI
# runs as root.
FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --disable-extensions --proxy-server=127.0.0.1:9 --hide-scrollbars)

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$*"; }
bad() { FAIL=$((FAIL + 1)); printf 'BAD  %s\n' "$*"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
    local what="$1"
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
has() { grep -qF -- "$1" "$DOM"; }
count() { { grep -oF -- "$1" "$DOM" || true; } | wc -l; }

# browser ARGS... URL: runs Chromium once, with its own profile; its log goes to $TMP.
browser() {
    local profile
    profile="$(mktemp -d "$TMP/profile.XXXXXX")"
    timeout 120 "$CHROMIUM" "${FLAGS[@]}" --user-data-dir="$profile" "$@" 2>>"$TMP/chromium.log"
}

# check_page REPORT: every check on one page; the counts go to PASS and FAIL.
check_page() {
    local page url n links
    page="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
    url="file://$page"
    DOM="$TMP/dom.html"
    if ! browser --dump-dom "$url" >"$DOM" || [ ! -s "$DOM" ]; then
        bad "Chromium could not load $page (see its log: KEEP=1)"
        return
    fi
    ok "Chromium loaded $1 ($(wc -c <"$DOM") bytes of DOM)"

    check "title: $(grep -o '<title>[^<]*</title>' "$DOM" | head -1)" has "<title>"
    for id in summary topology plots apps drops counters network paths snapshots; do
        check "section #$id" has "<section id=\"$id\">"
    done
    check "summary: wall time and speed (run.json)" \
        grep -qE 's of simulation|not recorded: the folder has no run.json' "$DOM"

    # The drawing.
    check "topology: inline SVG" has '<svg id="topology"'
    n=$(($(count '<g class="node">') + $(count '<g class="group">')))
    check "topology: $n node boxes" test "$n" -ge 1
    links=$(grep -c '"ends"' "$OUTDIR/stats.json" 2>/dev/null || true)
    if [ "${links:-0}" -gt 0 ]; then
        n=$(count '<g class="link">')
        check "topology: $n link lines ($links links in stats.json)" test "$n" -ge 1
    fi
    check "topology: legend" has '<g class="legend"'

    # Plots: figures when the run has samples.
    if compgen -G "$OUTDIR/samples/*.csv" >/dev/null; then
        n=$(count '<figure class="plot"')
        check "plots: $n figures (the run has samples/)" test "$n" -ge 1
        check "plots: figures are SVG" grep -qE '<figure class="plot"[^>]*><figcaption>[^<]*</figcaption>[[:space:]]*<svg' "$DOM"
    else
        check "plots: the note on how to get samples" has 'No samples: run with'
    fi

    # Kernel paths and snapshots, when the run has them.
    if grep -qm1 '^    path: ' "$OUTDIR/trace.txt" 2>/dev/null; then
        n=$(count '<span class="fn l-')
        check "kernel paths: $n function chips" test "$n" -ge 1
    else
        check "kernel paths: how to get them" has '--trace path'
    fi
    if compgen -G "$OUTDIR/snapshots/*.txt" >/dev/null; then
        for f in "$OUTDIR"/snapshots/*.txt; do
            check "snapshots: $(basename "$f")" has "snapshots/$(basename "$f")</code>"
        done
    fi

    # Self-contained.
    check "nothing loaded from elsewhere" \
        bash -c "! grep -qE '<link|(src|href)=\"(https?:)?//' '$DOM'"

    # The screenshot.
    local shot="${SHOT:-$TMP/report.png}"
    rm -f "$shot"
    if ! browser --screenshot="$shot" --window-size=1280,2000 "$url" >/dev/null || [ ! -s "$shot" ]; then
        bad "screenshot: Chromium wrote none"
        return
    fi
    local sig w h size
    sig="$(od -An -tx1 -N8 "$shot" | tr -d ' \n')"
    w=$((16#$(od -An -tx1 -j16 -N4 "$shot" | tr -d ' \n')))
    h=$((16#$(od -An -tx1 -j20 -N4 "$shot" | tr -d ' \n')))
    size=$(wc -c <"$shot")
    check "screenshot: a PNG" test "$sig" = 89504e470d0a1a0a
    check "screenshot: ${w}×${h}" test "$w" -eq 1280 -a "$h" -eq 2000
    # A blank 1280×2000 page compresses to a few KB; the report's first screen (tables,
    # the drawing, text) to 100 KB and more.
    check "screenshot: $size bytes, more than a blank page" test "$size" -gt 40000
    if [ -n "${SHOT:-}" ] || [ "${KEEP:-0}" = 1 ]; then echo "     screenshot: $shot"; fi
}

if [ "$SELF_TEST" = 1 ]; then
    # Broken copies of the page must fail: without the drawing, without a section.
    echo "==> self-test on copies of $REPORT"
    sed -e '/<svg id="topology"/,/<\/svg>/d' "$REPORT" >"$TMP/no-topology.html"
    sed -e 's/<section id="counters">/<section id="gone">/' "$REPORT" >"$TMP/no-counters.html"
    failed=0
    for copy in "$TMP/no-topology.html" "$TMP/no-counters.html"; do
        PASS=0 FAIL=0
        SHOT="$TMP/self.png" check_page "$copy" >"$TMP/self.txt"
        sed 's/^/    /' "$TMP/self.txt"
        if [ "$FAIL" -gt 0 ]; then
            echo "  self-test ok: $(basename "$copy") is caught ($FAIL checks fail)"
        else
            echo "  self-test FAILED: $(basename "$copy") passes every check"
            failed=1
        fi
    done
    PASS=0 FAIL=0
    SHOT="$TMP/self.png" check_page "$REPORT" >/dev/null
    if [ "$FAIL" -eq 0 ]; then
        echo "  self-test ok: the page itself passes"
    else
        echo "  self-test FAILED: the page itself fails $FAIL checks"
        failed=1
    fi
    [ "$failed" = 0 ] && echo "self-test passed: the checks reject broken pages" && exit 0
    exit 1
fi

check_page "$REPORT"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
