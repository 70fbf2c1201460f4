#!/bin/sh
# A one-node Slurm on this machine, for trying `glekit robustness slurm` and for
# test/slurm.test.ts: Debian's slurm-wlm and munge, slurmctld + slurmd + munged started by
# hand (no systemd, no cgroups), one node with every core of this machine.
#
#   sh scripts/slurm-local.sh start    # install if needed, configure, start; waits until sinfo says idle
#   sh scripts/slurm-local.sh status   # daemons and sinfo
#   sh scripts/slurm-local.sh stop     # stop the three daemons (the state under /tmp stays)
#
# Needs root (apt-get, daemons). The daemons' state, spool, logs and pid files live under
# $GLEKIT_SLURM_STATE (default /tmp/glekit-slurm), never in the repository. The config is
# written to /etc/slurm/slurm.conf, where sbatch/squeue/scontrol look without SLURM_CONF;
# a slurm.conf there that this script did not write is left alone (the script stops).
# Measured set-up of this configuration: /work/shared/reference/cluster.md, docs/cluster.md.
set -eu

STATE=${GLEKIT_SLURM_STATE:-/tmp/glekit-slurm}
CONF=/etc/slurm/slurm.conf
MARK='# written by glekit scripts/slurm-local.sh'

die() { echo "slurm-local: $*" >&2; exit 1; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

install() {
  if command -v sbatch >/dev/null 2>&1 && command -v munged >/dev/null 2>&1; then return; fi
  [ "$(id -u)" = 0 ] || die "installing slurm-wlm and munge needs root"
  echo "slurm-local: apt-get install slurm-wlm munge" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

configure() {
  H=$(hostname -s)
  CPUS=$(nproc)
  MEM=$(free -m | awk '/^Mem:/ { printf "%d", $2 * 0.9 }')
  mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d" "$STATE/log"
  if [ -f "$CONF" ] && ! grep -q "^$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script; not touching it"
  fi
  cat >"$CONF.tmp" <<EOF
$MARK
ClusterName=glekit-local
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# a requeued task may start again after cred_expire + 1 s (default 120 s)
AuthInfo=cred_expire=5
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/log/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_min_interval=0
ReturnToService=2
SlurmdTimeout=30
MailProg=/bin/true
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
NodeName=$H CPUs=$CPUS Sockets=1 CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

start() {
  [ "$(id -u)" = 0 ] || die "starting the daemons needs root"
  install
  configure
  [ -f /etc/munge/munge.key ] || mungekey --create --force
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    # without systemd nobody creates munged's socket directory
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged
  fi
  munge -n | unmunge >/dev/null || die "munged does not answer"
  if ! pid_alive "$STATE/slurmctld.pid"; then
    setsid slurmctld -D >"$STATE/log/slurmctld.stdout" 2>&1 </dev/null &
  fi
  i=0
  until scontrol ping 2>/dev/null | grep -q UP; do
    i=$((i + 1)); [ $i -le 40 ] || die "slurmctld did not come up (see $STATE/log/slurmctld.log)"; sleep 0.5
  done
  if ! pid_alive "$STATE/slurmd.pid"; then
    setsid slurmd -D >"$STATE/log/slurmd.stdout" 2>&1 </dev/null &
  fi
  i=0
  until sinfo -h -o %T 2>/dev/null | grep -q -E '^(idle|mixed|allocated)'; do
    i=$((i + 1)); [ $i -le 60 ] || die "the node did not become idle (see $STATE/log/slurmd.log)"; sleep 0.5
  done
  sinfo
}

stop() {
  for d in slurmd slurmctld; do
    if pid_alive "$STATE/$d.pid"; then kill "$(cat "$STATE/$d.pid")"; fi
  done
  # munged: only the one this machine runs as user munge (PID 1 may keep dead ones as zombies)
  for p in $(pgrep -r S,R,D -x -u munge munged 2>/dev/null || true); do kill "$p"; done
  echo "slurm-local: stopped (state kept in $STATE)"
}

status() {
  for d in slurmctld slurmd; do
    if pid_alive "$STATE/$d.pid"; then echo "$d: running, pid $(cat "$STATE/$d.pid")"; else echo "$d: not running"; fi
  done
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then echo "munged: answers"; else echo "munged: does not answer"; fi
  sinfo 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: sh scripts/slurm-local.sh start|status|stop" >&2; exit 2 ;;
esac
