# Common helpers for the e2e harness. Sourced, never run.
# Paths: everything generated lives under build/e2e/ (git-ignored), so a fresh
# clone rebuilds it and a stale cache is removed with `make clean`.

E2E_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_SRC/../.." && pwd)
E2E_BUILD=${E2E_BUILD:-$REPO/build/e2e}
KTVM=${KTVM:-$REPO/ktvm}
export E2E_BUILD KTVM # used by child shells (vmm.sh adapters)

log() { printf 'e2e: %s\n' "$*" >&2; }
die() { printf 'e2e: error: %s\n' "$*" >&2; exit 1; }

# Install the Debian packages the harness needs (tests/e2e/packages.txt) if any
# is missing. Only root can; others get a clear message instead of a late failure.
ensure_packages() {
	local missing=() p
	while read -r p; do
		[[ -z $p || $p == \#* ]] && continue
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done <"$E2E_SRC/packages.txt"
	((${#missing[@]} == 0)) && return 0
	[[ $(id -u) == 0 ]] || die "missing packages (run as root or install): ${missing[*]}"
	log "installing ${missing[*]}"
	# Quiet: apt's progress output would drown the test report.
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
		apt-get update -qq >/dev/null 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
			die "apt-get install ${missing[*]} failed"
	fi
}

# True when this host's /dev/kvm can run Linux itself (a CPU with vmx or svm).
# A /dev/kvm without those flags (e.g. kvm_pvm) runs tiny real-mode code only.
host_has_hw_virt() {
	[[ -e /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo
}

# Monotonic-ish wall clock in ms, without forking (bash 5 EPOCHREALTIME).
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
