# Shared by scripts/deb-test.sh and scripts/httpd-image-test.sh (sourced, after `top`, `fail`
# are defined): the package and the AJP test server they use, and a private root in which
# installing packages changes nothing on this machine.

# The package make deb built.
package_deb() {
  local deb
  deb=$(ls "$top"/target/deb/libapache2-mod-jk-rs_*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || fail "no target/deb/libapache2-mod-jk-rs_*.deb: run make deb"
  echo "$deb"
}

# This repository's AJP test server (debug build, else release).
test_server() {
  local s=$top/target/debug/ajp-test-server
  [ -x "$s" ] || s=$top/target/release/ajp-test-server
  [ -x "$s" ] || fail "no ajp-test-server: cargo build -p jk-ajp-testserver --bins"
  echo "$s"
}

# In a private mount namespace (unshare --mount --propagation private): /etc, /usr, /var and
# /run become overlays whose upper layers live in $1 (gone with the namespace), and no
# maintainer script may start or restart a service (policy-rc.d).
private_root() {
  local work=$1 d
  for d in etc usr var run; do
    mkdir -p "$work/$d-up" "$work/$d-work"
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$work/$d-up,workdir=$work/$d-work" "/$d"
  done
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
}

# Undoes private_root (the namespace's end would too).
private_root_end() {
  local d
  for d in run var usr etc; do umount "/$d" 2>/dev/null; done
}
