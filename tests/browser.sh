#!/bin/sh
# browser.sh: render a page in headless Chromium for the export and plot tests.
#   browser.sh DIR PAGE OUT     serve DIR on 127.0.0.1 (a free port), open PAGE (a path
#                               under DIR, with an optional #fragment), write OUT.dom (the
#                               DOM after scripts ran) and OUT.png (a 1200x900 screenshot)
#   browser.sh - FILE OUT       the same for a local FILE opened as file:// (no server)
# AG_BROWSER_BUDGET: the virtual time budget in ms (default 4000).
# Exit 77 when chromium or python3 is missing, 1 when the page could not be rendered.
set -u
dir=$1 page=$2 out=$3
command -v chromium >/dev/null 2>&1 || { echo "chromium not installed" >&2; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed" >&2; exit 77; }
profile=$(mktemp -d) || exit 1
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	rm -rf "$profile"
}
trap cleanup EXIT
if [ "$dir" = - ]; then
	url="file://$page"
else
	log="$profile/server.log"
	(cd "$dir" && exec python3 -m http.server 0 --bind 127.0.0.1) >"$log" 2>&1 &
	srv=$!
	port=
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		port=$(sed -n 's/.* port \([0-9][0-9]*\) .*/\1/p' "$log" | head -n 1)
		[ -n "$port" ] && break
		sleep 0.25
	done
	[ -n "$port" ] || { echo "the local server did not start: $(cat "$log")" >&2; exit 1; }
	url="http://127.0.0.1:$port/$page"
fi
# No GPU, no network beyond the local server, a throwaway profile; the virtual time
# budget lets the page's scripts fetch and draw before the DOM is taken.
flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update --disable-sync
	--user-data-dir=$profile --virtual-time-budget=${AG_BROWSER_BUDGET:-4000} --window-size=1200,900"
# shellcheck disable=SC2086
timeout 90 chromium $flags --dump-dom "$url" >"$out.dom" 2>"$out.err" || exit 1
# shellcheck disable=SC2086
timeout 90 chromium $flags --screenshot="$out.png" "$url" >>"$out.err" 2>&1 || exit 1
[ -s "$out.dom" ] && [ -s "$out.png" ] || exit 1
exit 0
