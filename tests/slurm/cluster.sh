#!/usr/bin/env bash
# A real, single-node SLURM cluster on localhost, for segval's tests and CI.
#
#   tests/slurm/cluster.sh install   # apt-get slurm + munge if missing (root, Debian)
#   tests/slurm/cluster.sh start     # write config, start munged/slurmctld/slurmd, wait until usable
#   tests/slurm/cluster.sh status    # daemons alive? sinfo; exit 0 only if the cluster is usable
#   tests/slurm/cluster.sh stop      # stop ONLY the daemons this script started (by recorded PID)
#   tests/slurm/cluster.sh env       # print `export SLURM_CONF=...` for clients (eval "$(... env)")
#
# No systemd and no cgroups are needed: the daemons run as plain background
# processes, as root, and write everything (state, spool, logs, pid files,
# munge socket and key) into one state directory:
#   SEGVAL_SLURM_DIR   state dir                         (default /tmp/segval-slurm)
#   SEGVAL_SLURM_NODE  node name (slurmd -N)             (default segval-node)
#   SEGVAL_SLURM_CPUS  CPUs the node advertises          (default: 8, or nproc if more; see slurm.conf below)
#   SEGVAL_SLURM_MEM   RealMemory of the node, MB        (default 75% of MemTotal, max 16000)
#   SEGVAL_SLURM_CTLD_PORT / SEGVAL_SLURM_SLURMD_PORT    (default 6817 / 6818)
#   SEGVAL_SLURM_WAIT  seconds `start` waits for a working `srun` (default 60)
#   SEGVAL_SLURM_LINK_ETC  1 (default): symlink /etc/slurm/slurm.conf to our config, see below
#
# The one thing written outside the state dir: /etc/slurm/slurm.conf (a symlink,
# only if absent or already one of ours; removed again by `stop`). Why: client
# commands find their config through $SLURM_CONF, but snakemake's
# slurm-jobstep plugin (which runs inside every submitted job) deletes all
# SLURM_* variables except the job-id ones before it calls `srun`, so that
# nested srun only finds the compiled-in default path /etc/slurm/slurm.conf.
set -euo pipefail

STATE_DIR=${SEGVAL_SLURM_DIR:-/tmp/segval-slurm}
NODE=${SEGVAL_SLURM_NODE:-segval-node}
# At least 8, and never fewer than the machine has: a job asking for all of a bigger CI runner's
# cores must not stay PENDING forever.
NPROC=$(nproc 2>/dev/null || echo 1)
CPUS=${SEGVAL_SLURM_CPUS:-$(( NPROC > 8 ? NPROC : 8 ))}
CTLD_PORT=${SEGVAL_SLURM_CTLD_PORT:-6817}
SLURMD_PORT=${SEGVAL_SLURM_SLURMD_PORT:-6818}
WAIT_S=${SEGVAL_SLURM_WAIT:-60}
LINK_ETC=${SEGVAL_SLURM_LINK_ETC:-1}
ETC_CONF=/etc/slurm/slurm.conf

CONF=$STATE_DIR/slurm.conf
MUNGE_DIR=$STATE_DIR/munge
MUNGE_SOCKET=$MUNGE_DIR/munge.socket
MUNGE_KEY=$MUNGE_DIR/munge.key
PID_DIR=$STATE_DIR/pids
LOG_DIR=$STATE_DIR/log
DAEMONS=(munged slurmctld slurmd)      # start order; stop goes in reverse

export SLURM_CONF=$CONF

log() { printf '[cluster.sh] %s\n' "$*"; }
die() { printf '[cluster.sh] ERROR: %s\n' "$*" >&2; exit 1; }

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (SlurmUser=root, apt-get)"; }

# --------------------------------------------------------------------- install
# (Not `sinfo -V`: with SLURM_CONF pointing at a not-yet-written file every
# Slurm client retries for 60 s before failing.)
slurm_version() { dpkg-query -W -f='slurm ${Version}' slurmctld 2>/dev/null || echo 'slurm ?'; }

cmd_install() {
    local missing=()
    for b in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/srun /usr/bin/sinfo /usr/sbin/munged; do
        [[ -x $b ]] || missing+=("$b")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        log "install: slurm and munge already installed ($(slurm_version)), nothing to do"
        return 0
    fi
    need_root
    log "install: missing ${missing[*]}; apt-get installing slurmctld slurmd slurm-client munge"
    export DEBIAN_FRONTEND=noninteractive
    # Keep the packages' maintainer scripts from starting system munged /
    # slurmd via init.d (we run our own): a policy-rc.d that says "no"
    # (Docker images ship one; add it only for this install if missing).
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 0755 "$policy"; added_policy=1
    fi
    # --no-install-recommends: the slurm-wlm metapackage drags in dozens of
    # plugin -dev packages; these four are all a one-node cluster needs.
    local ok=1 aptlog
    aptlog=$(mktemp /tmp/segval-slurm-apt.XXXXXX)
    { apt-get update -qq &&
      apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        slurmctld slurmd slurm-client munge; } >"$aptlog" 2>&1 || ok=0
    if (( added_policy )); then rm -f "$policy"; fi
    if (( ! ok )); then tail -n 30 "$aptlog" >&2; die "apt-get install failed (log: $aptlog)"; fi
    rm -f "$aptlog"
    log "install: done ($(slurm_version))"
}

# ----------------------------------------------------------------- pid helpers
pidfile() { echo "$PID_DIR/$1.pid"; }

# Process $1 exists and is not a zombie (our daemons are reparented to PID 1,
# which may reap them late; a zombie counts as exited).
alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && $st != Z ]]
}

# Print the recorded PID of daemon $1 if that process is alive AND is really
# our daemon (right executable, our state dir on its command line). This guards
# against PID reuse: we never signal a process we did not start.
our_pid() {
    local name=$1 f pid exe
    f=$(pidfile "$name")
    [[ -s $f ]] || return 1
    pid=$(<"$f")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    alive "$pid" || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    # (Debian: /usr/sbin/slurmctld is an alternatives link to slurmctld-wlm)
    [[ ${exe##*/} == "$name"* ]] || return 1
    # (read into a variable: `tr | grep -q` would trip pipefail via SIGPIPE)
    local cmdline
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *"$STATE_DIR"* ]] || return 1
    echo "$pid"
}

# Is the cluster usable? A trivial job step must run. (`sinfo` alone is not
# enough: right after a restart it reports the node idle from saved state
# before slurmd has re-registered.)
srun_ok() {
    timeout 15 srun -N1 -n1 -t 1 --quiet true >/dev/null 2>&1
}

all_alive() {
    local d
    for d in "${DAEMONS[@]}"; do our_pid "$d" >/dev/null || return 1; done
}

# ------------------------------------------------------------------ config
write_config() {
    mkdir -p "$STATE_DIR" "$MUNGE_DIR" "$PID_DIR" "$LOG_DIR" \
             "$STATE_DIR/ctld-state" "$STATE_DIR/slurmd-spool"
    # munged dislikes group/world-writable dirs around its key and socket.
    # The munge dir is 0755, not 0700: with 0700 munged warns that (non-root)
    # clients cannot reach the socket.
    chmod 0755 "$STATE_DIR" "$PID_DIR" "$LOG_DIR" "$MUNGE_DIR"

    local mem_total_mb mem
    mem_total_mb=$(awk '/^MemTotal:/ {print int($2/1024)}' /proc/meminfo)
    mem=${SEGVAL_SLURM_MEM:-$(( mem_total_mb * 3 / 4 ))}
    if [[ -z ${SEGVAL_SLURM_MEM:-} && $mem -gt 16000 ]]; then mem=16000; fi

    cat >"$CONF.tmp" <<EOF
# Generated by tests/slurm/cluster.sh -- single-node test cluster on localhost.
ClusterName=segval
# slurmctld only starts if SlurmctldHost names this host (short hostname);
# the address in parentheses keeps all traffic on loopback.
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
# Run everything as root: no slurm user, no permission problems in the state dir.
SlurmUser=root
SlurmdUser=root
# Our own munged, with its own socket and key in the state dir, so that a
# system munged (if any) is neither needed nor disturbed.
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
MpiDefault=none
# No mail; silences "Configured MailProg is invalid" (no mailer installed).
MailProg=/bin/true

# --- everything the daemons write lives in the state dir
StateSaveLocation=$STATE_DIR/ctld-state
SlurmdSpoolDir=$STATE_DIR/slurmd-spool
SlurmctldPidFile=$PID_DIR/slurmctld.daemonpid
SlurmdPidFile=$PID_DIR/slurmd.daemonpid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info

# --- no systemd, no cgroups: track processes through /proc, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# No slurmdbd: 'sacct' and 'sacctmgr' do not work (sacct exits 1). Snakemake's
# SLURM executor must therefore be told slurm-status-command: squeue.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none

# --- scheduling: share the node between jobs by cores AND memory.
SchedulerType=sched/backfill
# Start batch jobs at once: by default slurmctld may delay scheduling newly
# submitted batch jobs by up to 3 s (batch_sched_delay), per workflow stage.
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default, a job that does not ask for memory gets the whole node's
# RealMemory and every other job waits: jobs would run one at a time.
DefMemPerCPU=256
# Keep finished jobs in slurmctld (and so in 'squeue --states=all') for 10 min:
# snakemake's squeue status check needs MinJobAge >= 3 x its first status-check
# delay, and tests count submissions with 'squeue'/'scontrol show job'.
MinJobAge=600
# A node that was DOWN (e.g. slurmd restarted) returns to service by itself.
ReturnToService=2
# Fast turnaround for tests.
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MessageTimeout=10

# --- the one node, on loopback.
# CPUs is deliberately larger than the machine's core count (default 8, e.g.
# on a 2-core CI runner): SLURM only allocates, it does not enforce (no
# cgroups), so over-advertising lets groups of small jobs, or a snakemake
# group whose summed cpus exceed the real cores, be scheduled together instead
# of staying PENDING forever. 'config_overrides' makes slurmd accept a node
# definition larger than the hardware instead of draining the node.
SlurmdParameters=config_overrides
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$(hostname -s) CPUs=$CPUS RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    if [[ -f $CONF ]] && cmp -s "$CONF" "$CONF.tmp"; then
        rm -f "$CONF.tmp"
    else
        mv "$CONF.tmp" "$CONF"
        log "start: wrote $CONF (node $NODE, CPUs=$CPUS, RealMemory=${mem}MB)"
    fi

    if [[ ! -s $MUNGE_KEY ]]; then
        # mungekey ships with munge >= 0.5.14; fall back to random bytes.
        if command -v mungekey >/dev/null; then
            mungekey -c -k "$MUNGE_KEY" >/dev/null
        else
            dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
        fi
        log "start: created munge key $MUNGE_KEY"
    fi
    chmod 0400 "$MUNGE_KEY"
}

link_etc_conf() {
    [[ $LINK_ETC == 1 ]] || return 0
    if [[ -L $ETC_CONF ]]; then
        [[ $(readlink "$ETC_CONF") == "$CONF" ]] && return 0
        # A symlink to some other segval state dir (an earlier run with another
        # SEGVAL_SLURM_DIR) is ours to repoint; anything else is left alone.
        if [[ $(readlink "$ETC_CONF") == */slurm.conf ]] && \
           grep -q 'Generated by tests/slurm/cluster.sh' "$ETC_CONF" 2>/dev/null; then
            ln -sfn "$CONF" "$ETC_CONF"; log "start: repointed $ETC_CONF -> $CONF"; return 0
        fi
    elif [[ ! -e $ETC_CONF ]]; then
        mkdir -p "${ETC_CONF%/*}"
        ln -s "$CONF" "$ETC_CONF"; log "start: linked $ETC_CONF -> $CONF (for srun inside jobs)"; return 0
    fi
    log "start: WARNING: $ETC_CONF exists and is not ours; srun inside snakemake jobs will read it, not $CONF"
}

unlink_etc_conf() {
    if [[ -L $ETC_CONF && $(readlink "$ETC_CONF") == "$CONF" ]]; then
        rm -f "$ETC_CONF"; log "stop: removed symlink $ETC_CONF"
    fi
}

# ------------------------------------------------------------------- start
# Start one daemon in the foreground mode of its own, detached with setsid
# (own session: a Ctrl-C/SIGINT sent to the caller's process group, e.g. by
# `timeout --foreground -s INT snakemake ...`, does not reach it) and record
# its PID. In a non-interactive shell a background child is not a process-
# group leader, so setsid execs in place and $! is the daemon's own PID.
spawn() {
    local name=$1; shift
    setsid "$@" </dev/null >>"$LOG_DIR/$name.out" 2>&1 &
    local pid=$!
    echo "$pid" >"$(pidfile "$name")"
    sleep 0.3
    if ! our_pid "$name" >/dev/null; then
        rm -f "$(pidfile "$name")"
        tail -n 20 "$LOG_DIR/$name.out" "$LOG_DIR/$name.log" 2>/dev/null >&2 || true
        die "$name exited right after start (see $LOG_DIR)"
    fi
    log "start: started $name (pid $pid)"
}

cmd_start() {
    need_root
    for b in slurmctld slurmd munged srun; do
        command -v "$b" >/dev/null || die "$b not found; run '$0 install' first"
    done
    if all_alive && srun_ok; then
        log "start: already running and usable (state dir $STATE_DIR), nothing to do"
        return 0
    fi
    local t0=$SECONDS
    # Half-up or broken: stop whatever of ours is left, then start clean.
    if our_pid munged >/dev/null || our_pid slurmctld >/dev/null || our_pid slurmd >/dev/null; then
        log "start: some daemons alive but cluster not usable; restarting"
        cmd_stop
    fi
    write_config
    link_etc_conf

    if our_pid munged >/dev/null; then :; else
        rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
        # -F foreground (we detach it ourselves; it then logs to stderr, i.e.
        # to log/munged.out). -f: do not abort on munged's path-permission
        # checks, in case SEGVAL_SLURM_DIR sits below a group-writable dir
        # (not needed for the default under /tmp).
        spawn munged /usr/sbin/munged -F -f --socket="$MUNGE_SOCKET" \
            --key-file="$MUNGE_KEY" --pid-file="$MUNGE_DIR/munged.pid" \
            --seed-file="$MUNGE_DIR/munged.seed"
        local i
        for i in $(seq 50); do [[ -S $MUNGE_SOCKET ]] && break; sleep 0.1; done
        [[ -S $MUNGE_SOCKET ]] || die "munged did not create $MUNGE_SOCKET (see $LOG_DIR/munged.out)"
    fi
    # -D foreground (detached by spawn). -c: do not recover jobs of a previous
    # run, so each cold start begins with an empty queue (job IDs still go on
    # counting up from the saved state; tests should select jobs by name).
    our_pid slurmctld >/dev/null || spawn slurmctld /usr/sbin/slurmctld -D -c -f "$CONF"
    # -N: which NodeName in slurm.conf this slurmd is (it is not the hostname).
    our_pid slurmd >/dev/null || spawn slurmd /usr/sbin/slurmd -D -N "$NODE" -f "$CONF"

    log "start: waiting up to ${WAIT_S}s for 'srun true' to succeed"
    local deadline=$((SECONDS + WAIT_S))
    until srun_ok; do
        if ! all_alive; then
            tail -n 20 "$LOG_DIR"/*.log "$LOG_DIR"/*.out >&2 || true
            die "a daemon died during startup (logs in $LOG_DIR)"
        fi
        if (( SECONDS >= deadline )); then
            sinfo -N -l >&2 || true
            tail -n 20 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" >&2 || true
            die "cluster not usable after ${WAIT_S}s (logs in $LOG_DIR)"
        fi
        sleep 1
    done
    log "start: cluster up in $((SECONDS - t0))s; clients need: export SLURM_CONF=$CONF"
}

# -------------------------------------------------------------------- stop
cmd_stop() {
    local i d pid stopped=0
    # First cancel every job still queued/running on OUR cluster (the cluster
    # is private to this state dir, so all its jobs come from the tests), so
    # no slurmstepd or job process outlives slurmd.
    if our_pid slurmctld >/dev/null && our_pid munged >/dev/null; then
        local ids
        ids=$(timeout 10 squeue -h -t PD,R,CG,S,CF -o %A 2>/dev/null | sort -u | tr '\n' ' ') || ids=
        if [[ -n ${ids// } ]]; then
            log "stop: cancelling jobs still on the cluster: $ids"
            # shellcheck disable=SC2086
            timeout 10 scancel $ids 2>/dev/null || true
            # Wait for them to end -- only possible with slurmd alive. (If
            # slurmd died, its orphaned slurmstepd's keep running until the
            # next slurmd on this state dir starts: it aborts them at once.)
            our_pid slurmd >/dev/null && for i in $(seq 30); do
                [[ -z $(timeout 5 squeue -h -t R,CG,S,CF -o %A 2>/dev/null) ]] && break
                sleep 0.5
            done
        fi
    fi
    for (( i=${#DAEMONS[@]}-1; i>=0; i-- )); do
        d=${DAEMONS[i]}
        if pid=$(our_pid "$d"); then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
            if alive "$pid"; then
                log "stop: $d (pid $pid) ignored SIGTERM for 10s, sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
            fi
            log "stop: stopped $d (pid $pid)"
            stopped=1
        fi
        rm -f "$(pidfile "$d")"
    done
    rm -f "$PID_DIR"/*.daemonpid "$MUNGE_DIR/munged.pid" 2>/dev/null || true
    unlink_etc_conf
    (( stopped )) || log "stop: no daemon of ours was running (state dir $STATE_DIR)"
}

# ------------------------------------------------------------------ status
cmd_status() {
    local d pid up=0
    for d in "${DAEMONS[@]}"; do
        if pid=$(our_pid "$d"); then log "status: $d alive (pid $pid)"
        else log "status: $d NOT running"; up=1; fi
    done
    if (( up == 0 )); then
        sinfo || up=1
        if srun_ok; then log "status: srun works, cluster is up"
        else log "status: daemons alive but 'srun true' fails"; up=1; fi
    fi
    return $up
}

case ${1:-} in
    install) cmd_install ;;
    start)   cmd_start ;;
    stop)    cmd_stop ;;
    status)  cmd_status ;;
    env)     echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: $0 {install|start|stop|status|env}" >&2; exit 2 ;;
esac
