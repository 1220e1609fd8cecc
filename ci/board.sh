#!/usr/bin/env bash
# The nightly board job's step (ci/nightly.yml, runner label `hil-board`):
# lists the connected boards, then qualifies each board profile named in
# $HIL_BOARDS (space-separated; default: the virtual board, which needs no
# hardware), with reports in reports/board/<profile>/. Exit non-zero when a
# board does not qualify or the harness fails. HIL_FEATURES=probe builds the
# probe-rs transport in (for profiles with transport kind "probe") and the
# defmt decoder `hil-defmt` next to `hil`.
set -euo pipefail
cd "$(dirname "$0")/.."
features=${HIL_FEATURES:-}
cargo build --release -p hil --bins ${features:+--features "$features"}
case " $features " in
  *" probe "*) cargo build --release -p hil-probe --features defmt --bin hil-defmt ;;
esac
HIL=${HIL:-./target/release/hil}
"$HIL" boards || true
status=0
for board in ${HIL_BOARDS:-virtual}; do
  echo "== qualify $board"
  "$HIL" qualify --board "$board" --repeat "${HIL_REPEAT:-3}" --report "reports/board/$board" || status=$?
done
exit $status
