# Sourced by provision.sh and oldpythons.sh: the host's Debian mirror and a private apt
# configuration (own etc, state, cache) for one suite, so the host's apt is never touched.
# Needs log, warn and die from the caller.

host_mirror() {
  if [[ -n ${WAND_TESTBED_MIRROR:-} ]]; then echo "$WAND_TESTBED_MIRROR"; return; fi
  local f uri
  # deb822 sources: first URIs: of a stanza that is not the security archive.
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    uri=$(awk '
      BEGIN { RS=""; FS="\n" }
      {
        uris=""; suites=""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/)   { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uris=u[1] }
          if ($i ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", $i); suites=$i }
        }
        if (uris != "" && uris !~ /security/ && suites !~ /security/ && uris ~ /debian\/?$/) { print uris; exit }
      }' "$f")
    [[ -n $uri ]] && { echo "$uri"; return; }
  done
  # One-line style.
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    uri=$(awk '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($i !~ /security/ && $(i+1) !~ /security/ && $i ~ /debian\/?$/) { print $i; exit }
      }' "$f")
    [[ -n $uri ]] && { echo "$uri"; return; }
  done
  return 1
}

# private_apt APTDIR SUITE: writes APTDIR/apt.conf for SUITE of the host's mirror, exports
# APT_CONFIG and runs apt-get update (falling back to Trusted: yes when the keyring cannot verify).
private_apt() {
  local aptdir=$1 suite=$2 mirror keyring
  mirror=$(host_mirror) || die "no Debian mirror found in the host's apt configuration (set WAND_TESTBED_MIRROR)"
  mirror=${mirror%/}
  keyring=${WAND_TESTBED_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
  [[ -f $keyring ]] || die "missing $keyring (apt-get install debian-archive-keyring)"
  log "mirror $mirror (suite $suite)"
  mkdir -p "$aptdir"/etc/{apt.conf.d,preferences.d,sources.list.d,trusted.gpg.d} \
           "$aptdir"/state/lists/partial "$aptdir"/cache/archives/partial "$aptdir"/log
  : >"$aptdir/state/status"     # empty dpkg status: apt resolves every dependency
  write_sources() { # "trusted" to skip signature checks
    {
      echo "Types: deb"
      echo "URIs: $mirror"
      echo "Suites: $suite"
      echo "Components: main"
      if [[ -n ${1:-} ]]; then echo "Trusted: yes"; else echo "Signed-By: $keyring"; fi
    } >"$aptdir/etc/sources.list.d/$suite.sources"
  }
  {
    echo "Dir::Etc \"$aptdir/etc\";"
    echo "Dir::Etc::main \"apt.conf\";"
    echo "Dir::Etc::parts \"apt.conf.d\";"
    echo "Dir::Etc::sourcelist \"sources.list\";"
    echo "Dir::Etc::sourceparts \"sources.list.d\";"
    echo "Dir::Etc::preferences \"preferences\";"
    echo "Dir::Etc::preferencesparts \"preferences.d\";"
    echo "Dir::Etc::trusted \"trusted.gpg\";"
    echo "Dir::Etc::trustedparts \"trusted.gpg.d\";"
    echo "Dir::State \"$aptdir/state\";"
    echo "Dir::State::status \"$aptdir/state/status\";"
    echo "Dir::Cache \"$aptdir/cache\";"
    echo "Dir::Cache::archives \"$aptdir/cache/archives\";"
    echo "Dir::Cache::pkgcache \"pkgcache.bin\";"
    echo "Dir::Cache::srcpkgcache \"srcpkgcache.bin\";"
    echo "Dir::Log \"$aptdir/log\";"
    echo "APT::Architecture \"amd64\";"
    echo "APT::Architectures { \"amd64\"; };"
    echo "APT::Install-Recommends \"false\";"
    echo "APT::Install-Suggests \"false\";"
    echo "APT::Get::Assume-Yes \"true\";"
    echo "Acquire::Languages \"none\";"
    echo "Acquire::Retries \"3\";"
    # Carry over the host's network settings (proxies, validity checks) only.
    apt-config dump 2>/dev/null \
      | grep -E '^Acquire::(https?|ftp)::Proxy|^Acquire::(https?::)?Check-(Valid-Until|Date) ' || true
  } >"$aptdir/apt.conf"
  : >"$aptdir/etc/apt.conf"
  export APT_CONFIG="$aptdir/apt.conf"
  export DEBIAN_FRONTEND=noninteractive
  write_sources
  if ! apt-get -q update >"$aptdir/log/update.log" 2>&1; then
    if grep -qE 'NO_PUBKEY|not signed|EXPKEYSIG|BADSIG|KEYEXPIRED|signatures (were invalid|couldn.t be verified)' "$aptdir/log/update.log"; then
      warn "signature verification of $suite failed with $keyring; falling back to trusted=yes"
      sed 's/^/  /' "$aptdir/log/update.log" | tail -n 5 >&2
      write_sources trusted
      apt-get -q update >"$aptdir/log/update.log" 2>&1 || { cat "$aptdir/log/update.log" >&2; die "apt-get update failed"; }
    else
      cat "$aptdir/log/update.log" >&2
      die "apt-get update failed"
    fi
  fi
}
