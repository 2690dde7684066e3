#!/usr/bin/env bash
# Regenerates the figures of the 2-block Vajont case (cases/vajont.toml) that its accuracy key,
# its header comments, README.md (Verification) and docs/numbers.md quote, from runs of the current
# code (issue 13 item 8: resolution in time; issue 14 item 4: 1 rank / 2 ranks / SciPy):
#
#   PY=.venv/bin/python MPIEXEC=.venv/bin/mpiexec bash benchmarks/vajont_numbers.sh RUN_DIR
#
# RUN_DIR must not exist (a run folder of the same input is reused whatever code wrote it; set
# RESUME=1 to resume an interrupted regeneration in the same RUN_DIR on the same code).
# Six runs, one at a time (~25 min of CPU; Δt/8 alone ~10 min): the resolution study (base, Δt/2,
# Δt/4, Δt/8 -> benchmarks/out/vajont_resolution.json), then 2 ranks and SciPy, sharing the base run
# as the 1-rank run (-> benchmarks/out/vajont_roundoff.json). At the end the case's
# accuracy key gets the new resolution sentence in place of the committed one (the rest of the key,
# the header comments and the docs are prose: update their figures from the printed table), and
#   pytest tests/test_vajont_resolution.py tests/test_gallery.py -k "accuracy_quotes or quoted"
# checks the key and the quoted numbers; the slow tests test_gallery.py -k documented_vajont and
# test_dda_cases.py -k ranks_or_linear rerun the case.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
if [ -z "${MPIEXEC:-}" ]; then  # the venv's mpiexec next to PY, else the one on PATH
    MPIEXEC=$(dirname "$(command -v "$PY")")/mpiexec
    [ -x "$MPIEXEC" ] || MPIEXEC=mpiexec
fi
D=${1:?usage: bash benchmarks/vajont_numbers.sh RUN_DIR}
if [ -e "$D" ] && [ "${RESUME:-0}" != 1 ]; then
    echo "error: RUN_DIR: $D: found an existing path; allowed: a new folder (or RESUME=1 on the same code)" >&2
    exit 2
fi
REPORT=benchmarks/out/vajont_resolution.json
OLD=$("$PY" benchmarks/vajont_resolution.py --accuracy "$REPORT")
"$PY" benchmarks/vajont_resolution.py --case cases/vajont.toml --set monitor.rest_window=10 \
    --variants base,time/2,time/4,time/8 --run-dir "$D/resolution" --out "$REPORT"
"$PY" benchmarks/vajont_roundoff.py --case cases/vajont.toml --run-dir "$D/roundoff" \
    --rank1-from "$D/resolution/base" --mpiexec "$MPIEXEC"
NEW=$("$PY" benchmarks/vajont_resolution.py --accuracy "$REPORT")
OLD="$OLD" NEW="$NEW" "$PY" - <<'EOF'
import os
from pathlib import Path

case = Path("cases/vajont.toml")
text, old, new = case.read_text(encoding="utf-8"), os.environ["OLD"], os.environ["NEW"]
if old != new:
    assert text.count(old) == 1, "the committed resolution sentence is not in the accuracy key: edit it by hand"
    case.write_text(text.replace(old, new), encoding="utf-8")
print("accuracy key:", "unchanged" if old == new else "resolution sentence replaced")
print(new)
EOF
