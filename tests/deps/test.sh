#!/usr/bin/env bash
# Tests of deps/ensure.sh and its Makefile wiring, with fake dpkg-query,
# apt-get and id in front of PATH (nothing is installed; no network).
# Prints "PASS/FAIL name" lines and "deps: N passed, N failed".
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "PASS deps-$1"; pass=$((pass + 1)); }
bad() { echo "FAIL deps-$1: $2"; fail=$((fail + 1)); }

mkdir -p "$tmp/bin"
# dpkg-query: installed = everything except the names in $FAKE_MISSING.
cat >"$tmp/bin/dpkg-query" <<'F'
#!/bin/bash
shift 2 # -W -f=...
for p; do
	case " $FAKE_MISSING " in *" $p "*) ;; *) echo "$p install ok installed" ;; esac
done
F
# apt-get: logs its call; --print-uris fails until "update" ran when FAKE_STALE=1.
cat >"$tmp/bin/apt-get" <<'F'
#!/bin/bash
echo "$*" >>"$FAKE_LOG"
case " $* " in
*" update "*) touch "$FAKE_LOG.updated" ;;
*" --print-uris "*)
	[[ ${FAKE_STALE:-0} == 1 && ! -e $FAKE_LOG.updated ]] && { echo "E: Unable to locate package" >&2; exit 100; }
	echo "'http://mirror.invalid/pool/a.deb' a.deb 2097152 SHA256:0" ;;
*" install "*) echo "Get:1 http://mirror.invalid/debian bookworm/main amd64 libcap-dev amd64 1:2.66-4 [2048 kB]" ;;
esac
exit 0
F
printf '#!/bin/bash\necho "${FAKE_UID:-0}"\n' >"$tmp/bin/id"
chmod +x "$tmp/bin/"*

run() { # NAME ARGS...: run ensure.sh with the fakes; output in $tmp/NAME.out
	local name=$1
	shift
	rm -f "$tmp/apt.log" "$tmp/apt.log.updated"
	PATH=$tmp/bin:$PATH FAKE_LOG=$tmp/apt.log "$@" >"$tmp/$name.out" 2>&1
}
calls() { cat "$tmp/apt.log" 2>/dev/null | grep -c -- "$1"; }

# 1. Everything installed: silent, status 0, apt-get never called.
FAKE_MISSING='' run present "$repo/deps/ensure.sh" build unit
st=$?
if ((st == 0)) && [[ ! -s $tmp/present.out && ! -e $tmp/apt.log ]]; then ok present; else bad present "status $st, output '$(cat "$tmp/present.out")'"; fi

# 2. Missing, not root: exactly one line with the exact command, status 2, no apt-get.
FAKE_MISSING='libcap-dev libcmocka-dev' FAKE_UID=1000 run nonroot "$repo/deps/ensure.sh" build unit
st=$?
want='apt-get install -y --no-install-recommends libcap-dev libcmocka-dev'
if ((st == 2)) && [[ $(wc -l <"$tmp/nonroot.out") == 1 ]] && grep -qF "$want" "$tmp/nonroot.out" && [[ ! -e $tmp/apt.log ]]; then
	ok nonroot
else bad nonroot "status $st, output '$(cat "$tmp/nonroot.out")'"; fi

# 3. Missing, root, fresh lists: no update, one install of just the missing ones,
# a size line and a progress line without the mirror's host name.
FAKE_MISSING='libcap-dev' run root "$repo/deps/ensure.sh" build
st=$?
if ((st == 0)) && [[ $(calls ' update') == 0 ]] &&
	[[ $(grep -c 'install -y' "$tmp/apt.log") == 1 ]] && grep -q 'install -y.* libcap-dev$' "$tmp/apt.log" &&
	grep -q 'about 2 MiB' "$tmp/root.out" && grep -q '\[1/1\] libcap-dev' "$tmp/root.out" &&
	! grep -q 'mirror.invalid' "$tmp/root.out"; then
	ok root-install
else bad root-install "status $st, apt: $(tr '\n' ';' <"$tmp/apt.log" 2>/dev/null), out: $(tr '\n' ';' <"$tmp/root.out")"; fi

# 4. Missing, root, stale lists: exactly one apt-get update, then the install.
FAKE_MISSING='libcap-dev' FAKE_STALE=1 run stale "$repo/deps/ensure.sh" build
st=$?
if ((st == 0)) && [[ $(calls ' update') == 1 ]] && [[ $(grep -c 'install -y' "$tmp/apt.log") == 1 ]]; then
	ok stale-lists-one-update
else bad stale-lists-one-update "status $st, apt: $(tr '\n' ';' <"$tmp/apt.log" 2>/dev/null)"; fi

# 5. An unknown group is a usage error.
run unknown "$repo/deps/ensure.sh" nosuchgroup
st=$?
if ((st == 2)) && [[ $(wc -l <"$tmp/unknown.out") == 1 ]]; then ok unknown-group; else bad unknown-group "status $st"; fi

# 6. The Makefile: as non-root with a build package missing, `make unit` stops
# with status 2 and the one line before compiling anything.
FAKE_MISSING='libseccomp-dev' FAKE_UID=1000 run make-nonroot make -C "$repo" --no-print-directory \
	BUILD="$tmp/build" KTVM_BIN="$tmp/ktvm" unit
st=$?
if ((st == 2)) && grep -qF 'apt-get install -y --no-install-recommends libseccomp-dev' "$tmp/make-nonroot.out" &&
	! grep -q '  CC ' "$tmp/make-nonroot.out" && [[ ! -e $tmp/build ]]; then
	ok make-nonroot
else bad make-nonroot "status $st, output: $(head -c 300 "$tmp/make-nonroot.out")"; fi

# 7. `make test` asks for the build, unit, e2e and arm64 groups, `make` for build only.
FAKE_MISSING='libcmocka-dev qemu-system-x86 qemu-system-arm libseccomp-dev' FAKE_UID=1000 \
	run make-test make -C "$repo" --no-print-directory BUILD="$tmp/build" KTVM_BIN="$tmp/ktvm" test
line=$(grep 'as root run' "$tmp/make-test.out")
if [[ $line == *libseccomp-dev* && $line == *libcmocka-dev* && $line == *qemu-system-x86* && $line == *qemu-system-arm* ]]; then
	ok make-test-groups
else bad make-test-groups "$(head -c 300 "$tmp/make-test.out")"; fi
FAKE_MISSING='libcmocka-dev libseccomp-dev' FAKE_UID=1000 run make-all make -C "$repo" --no-print-directory \
	BUILD="$tmp/build" KTVM_BIN="$tmp/ktvm"
if grep -q 'no-install-recommends libseccomp-dev$' "$tmp/make-all.out"; then ok make-all-groups; else bad make-all-groups "$(cat "$tmp/make-all.out")"; fi

# 8. Nothing else in the tree installs packages: apt-get install/download and
# package lists appear only in deps/ and the shared download helper.
others=$(cd "$repo" && git grep -lE 'apt-get (-[^ ]+ )*install' -- ':!deps' ':!tests/deps' ':!docs' ':!README.md' ':!*.md' 2>/dev/null)
if [[ -z $others ]]; then ok one-installer; else bad one-installer "apt-get install in: $others"; fi

echo "deps: $pass passed, $fail failed"
((fail == 0))
