#!/usr/bin/env bash
# Regenerates the recordings in this directory from a real local run made by the tool itself:
# up, validate, doctor, down on the loopback topology (no cluster), then an asciicast of each.
# The state directory is private to this script, so a demo you have running is not touched.
# Usage: recordings/regenerate.sh          (from anywhere; needs node 20 and a built tree)
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null || echo "note: the build reported errors; using what it emitted" >&2

export MAAS_EGRESS_DEMO_STATE_DIR="$(mktemp -d)"
trap 'node bin/demo.js down --output plain >/dev/null 2>&1 || true; rm -rf "$MAAS_EGRESS_DEMO_STATE_DIR"' EXIT
demo() { node bin/demo.js "$@"; }

# A command that fails (a failing call, a doctor finding) still leaves a complete recording.
demo up --output plain --record recordings/up.ndjson
demo validate --output plain --record recordings/validate.ndjson || true
if ! demo doctor --output plain --record recordings/doctor.ndjson; then
  echo "note: doctor exited non-zero; see recordings/doctor.ndjson if it was written" >&2
fi
demo down --output plain --record recordings/down.ndjson

for f in recordings/*.ndjson; do
  demo replay "$f" --to-asciicast "${f%.ndjson}.cast"
done
