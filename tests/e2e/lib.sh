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

# Install the Debian packages the harness needs (group e2e of
# deps/packages.txt, the project's one list) if any is missing: as root
# deps/ensure.sh installs them, otherwise it prints the apt-get line.
ensure_packages() {
	"$REPO/deps/ensure.sh" e2e "$@" || die "missing Debian packages (above)"
}

# progress MSG: a line for the person watching (fd 3 when the caller opened it,
# e.g. run_all.sh, which sends the rest of a fetch's output to a log file).
progress() {
	if { true >&3; } 2>/dev/null; then printf 'fetch: %s\n' "$*" >&3; else printf 'fetch: %s\n' "$*" >&2; fi
}

# download_debs DIR PKG...: apt-get download each package into DIR (nothing is
# installed), one progress line per package with its size, after one line with
# the total; one apt-get update when the lists do not know a package.
download_debs() {
	local dir=$1 p s i=0 total=0 updated=''
	shift
	local -a size=()
	for p; do
		s=$(apt-cache show --no-all-versions "$p" 2>/dev/null | awk '/^Size:/ { print $2; exit }') || true
		if [[ -z $s && -z $updated ]]; then
			updated=1
			apt-get update -qq >/dev/null 2>&1 || true
			s=$(apt-cache show --no-all-versions "$p" 2>/dev/null | awk '/^Size:/ { print $2; exit }') || true
		fi
		size+=("${s:-0}")
		total=$((total + ${s:-0}))
	done
	progress "downloading $# Debian packages, about $(((total + 524288) / 1048576)) MiB"
	for p; do
		progress "[$((i + 1))/$#] $p ($(((size[i] + 52429) / 104858 / 10)).$(((size[i] + 52429) / 104858 % 10)) MiB)"
		(cd "$dir" && apt-get download -qq "$p" >>"$dir/apt.log" 2>&1) ||
			{ cat "$dir/apt.log" >&2; die "apt-get download $p failed"; }
		i=$((i + 1))
	done
}

# suite_apt SUITE: the path of a private APT_CONFIG that sees only SUITE (e.g.
# bookworm-backports) for amd64 and arm64, updated once per day: for downloads
# only (apt-get download, apt-cache), never installs.  The mirror is the one
# this machine's own sources already use for its release (deb822 sources or
# sources.list), so no host name is written anywhere in the project.
suite_apt() {
	local suite=$1 d=$E2E_BUILD/apt-$1 uri='' key='' codename f
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[[ -n $codename ]] || die "suite_apt: no VERSION_CODENAME in /etc/os-release"
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r $f ]] || continue
		# The stanza whose Suites has the release itself (not -security).
		read -r uri key < <(awk -v c="$codename" '
			/^[[:space:]]*$/ { if (ok && u != "") { print u, k; exit } ok = 0; u = ""; k = ""; next }
			/^URIs:/ { u = $2 }
			/^Signed-By:/ { k = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == c) ok = 1 }
			END { if (ok && u != "") print u, k }' "$f")
		[[ -n $uri ]] && break
	done
	if [[ -z $uri && -r /etc/apt/sources.list ]]; then
		uri=$(awk -v c="$codename" '$1 == "deb" && $0 !~ /\[/ && $3 == c { print $2; exit }' /etc/apt/sources.list)
	fi
	[[ -n $uri ]] || die "suite_apt: no apt source for $codename on this machine to take the mirror from"
	mkdir -p "$d/parts" "$d/prefs" "$d/lists/partial" "$d/cache/archives/partial"
	{
		echo "Types: deb"
		echo "URIs: $uri"
		echo "Suites: $suite"
		echo "Components: main"
		[[ -n $key ]] && echo "Signed-By: $key"
	} >"$d/parts/$suite.sources"
	cat >"$d/apt.conf" <<-CONF
		Dir::Etc::sourcelist "/dev/null";
		Dir::Etc::sourceparts "$d/parts";
		Dir::Etc::preferencesparts "$d/prefs";
		Dir::State::Lists "$d/lists";
		Dir::Cache "$d/cache";
		Dir::State::status "/dev/null";
		APT::Architectures { "amd64"; "arm64"; };
	CONF
	if [[ -z $(find "$d/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null) ]]; then
		progress "apt package lists of $suite (for downloads only, in $d)"
		APT_CONFIG=$d/apt.conf apt-get update -qq >"$d/update.log" 2>&1 ||
			{ cat "$d/update.log" >&2; die "apt-get update of $suite failed"; }
	fi
	echo "$d/apt.conf"
}

# True when this host's /dev/kvm can run Linux itself (a CPU with vmx or svm).
# A /dev/kvm without those flags (e.g. kvm_pvm) runs tiny real-mode code only.
host_has_hw_virt() {
	[[ -e /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo
}

# Monotonic-ish wall clock in ms, without forking (bash 5 EPOCHREALTIME).
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
