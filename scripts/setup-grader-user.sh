#!/usr/bin/env bash
# Prepares this machine for grading processes that run as an unprivileged user (rootless
# grading, course.sandbox.user_namespace): run as root once per machine, and again after each boot
# (cgroup v1 folders do not survive one). Idempotent.
#   scripts/setup-grader-user.sh [USER]   (default: course-grader)
# It makes USER (a system user without a login shell, its home /var/lib/USER) if missing, gives it 65536 subordinate
# uids and gids (/etc/subuid, /etc/subgid: the sandboxes' per-student uids), and a control-group
# folder of its own in each of the cpu, memory and pids hierarchies (course-uid-<uid>), in
# which its grading processes make each student's groups, and the folder where they lock their
# sandbox uids (/run/course-sandbox-uids-<uid>).
set -euo pipefail
user=${1:-course-grader}
count=65536
if [ "$(id -u)" -ne 0 ]; then
  echo "run this as root (it adds a user, subordinate ids and control groups): sudo $0 $user" >&2
  exit 1
fi
command -v newuidmap >/dev/null || {
  echo "newuidmap is missing: apt-get install uidmap" >&2; exit 1; }
if ! id "$user" >/dev/null 2>&1; then
  useradd --system --user-group --create-home --home-dir "/var/lib/$user" \
    --shell /usr/sbin/nologin "$user"
fi
uid=$(id -u "$user")
# The next free range after every range already given out (so none overlaps another user's).
next_free() {
  awk -F: -v min=100000 'BEGIN { end = min } { if ($2 + $3 > end) end = $2 + $3 } END { print end }' "$1"
}
for file in /etc/subuid /etc/subgid; do
  touch "$file"
  if ! grep -q "^$user:" "$file" && ! grep -q "^$uid:" "$file"; then
    start=$(next_free "$file")
    echo "$user:$start:$count" >> "$file"
  fi
done
# Where its grading processes lock their sandbox uids: made here, since only root can make a
# folder in /run, so no other user can make it first.
locks=/run/course-sandbox-uids-$uid
if [ -L "$locks" ] || { [ -e "$locks" ] && [ "$(stat -c %U "$locks")" != "$user" ]; }; then
  rm -rf "$locks"
fi
install -d -m 0700 -o "$user" -g "$user" "$locks"
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  echo "cgroup v2 only: no per-student groups for $user (course grade refuses unless --unbounded)" >&2
  exit 0
fi
for controller in cpu memory pids; do
  root=/sys/fs/cgroup/$controller
  [ -f "$root/cgroup.procs" ] || { echo "no cgroup v1 $controller hierarchy at $root" >&2; continue; }
  mkdir -p "$root/course-uid-$uid"
  chown -R "$user:$user" "$root/course-uid-$uid"
done
