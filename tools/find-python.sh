#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, trying the usual candidates in turn.
# The bare pyenv `python3.12` shim refuses to run while another version is selected, so
# pyenv installs are tried by explicit path and with PYENV_VERSION set.
set -u
ok() { "$@" -c 'import sys; raise SystemExit(0 if sys.version_info[:2] >= (3, 12) else 1)' >/dev/null 2>&1; }
resolve() { "$@" -c 'import sys; print(sys.executable)' 2>/dev/null; }

candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for d in "$root"/versions/3.12.* "$root"/versions/3.13.*; do
    [ -x "$d/bin/python3" ] && candidates+=("$d/bin/python3")
  done
fi
for name in python3.12 python3.13 python3; do
  for dir in /usr/local/bin /usr/bin; do
    [ -x "$dir/$name" ] && candidates+=("$dir/$name")
  done
  command -v "$name" >/dev/null 2>&1 && candidates+=("$name")
done

for c in "${candidates[@]}"; do
  if ok "$c"; then resolve "$c"; exit 0; fi
  # pyenv shim: select the version explicitly
  if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[2-9]' ); do
      if PYENV_VERSION="$v" ok "$c"; then PYENV_VERSION="$v" resolve "$c"; exit 0; fi
    done
  fi
done
echo "error: no Python >= 3.12 found (tried: \$PYTHON, pyenv versions 3.12/3.13, python3.12, python3.13, python3)." >&2
echo "       Install Python 3.12 (e.g. 'pyenv install 3.12') or set PYTHON=/path/to/python3.12." >&2
exit 1
