#!/usr/bin/env bash
# A one-node SLURM cluster with accounting on this machine, to try seqlab's cluster path
# (hydra/launcher=slurm) for real:
#
#   sudo scripts/slurm_local.sh up        # install (Debian/Ubuntu, as root) and start
#   sudo scripts/slurm_local.sh install   # only install the packages
#   eval "$(scripts/slurm_local.sh env)"  # point sbatch, sinfo, sacct ... at it
#   scripts/slurm_local.sh status
#   sudo scripts/slurm_local.sh down      # stop what `up` started
#
# Everything it writes (slurm.conf, slurmdbd.conf, state, logs) goes to $SEQLAB_SLURM_DIR
# (default /tmp/seqlab-slurm); /etc/slurm is not touched: SLURM's commands and daemons
# read the config that SLURM_CONF names. It starts munge and MariaDB as system services
# when they are not running (and stops them again on `down` only if it started them),
# creates the MariaDB user `slurm` and the database `seqlab_slurm_acct`, then slurmdbd,
# slurmctld and slurmd, registers the cluster `seqlab`, an account and the current user,
# and waits until the node is idle. Running `up` again is harmless; it restarts the SLURM
# daemons when the config it writes has changed. A requeued job waits
# $SEQLAB_SLURM_REQUEUE_DELAY_S seconds (default 30; SLURM's own default is 120).
#
# Stand-in GPUs, for trying GPU requests without a GPU: with SEQLAB_SLURM_STAND_IN_GPUS=N,
# `up` gives the node N GPUs (GRES whose device files are made under $DIR/dev: SLURM hands
# them out and sets CUDA_VISIBLE_DEVICES, but nothing computes on them) and 4 shards of
# each (SLURM's shard GRES), and declares 4 CPUs per stand-in GPU, or the machine's own
# count if that is more, so that 4 one-CPU jobs can share each. Without it (the default)
# the node has no GPUs; `up` again without it takes them away.
set -euo pipefail

DIR=${SEQLAB_SLURM_DIR:-/tmp/seqlab-slurm}
CLUSTER=seqlab
REQUEUE_DELAY_S=${SEQLAB_SLURM_REQUEUE_DELAY_S:-30}
STAND_IN_GPUS=${SEQLAB_SLURM_STAND_IN_GPUS:-0}
SHARDS_PER_GPU=4
PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server)
export SLURM_CONF=$DIR/slurm.conf

die() { echo "slurm_local: $*" >&2; exit 1; }
say() { echo "slurm_local: $*"; }

wait_for() {  # wait_for <seconds> <what> <command...>
    local limit=$1 what=$2; shift 2
    for _ in $(seq "$((limit * 5))"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    die "$what did not come up within ${limit}s (logs: $DIR/log)"
}

install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}); run as root to install them"
    command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get here"
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

start_service() {  # start_service <name> <check command...>
    local name=$1; shift
    "$@" >/dev/null 2>&1 && return 0
    service "$name" start >/dev/null 2>&1 || die "could not start $name"
    touch "$DIR/started-$name"
}

write_configs() {
    local host cpus mem_mb gres="" gres_types="" overrides=""
    host=$(hostname -s)
    cpus=$(nproc)
    [[ $STAND_IN_GPUS =~ ^[0-9]+$ ]] || die "SEQLAB_SLURM_STAND_IN_GPUS=$STAND_IN_GPUS: give a number of GPUs"
    rm -f "$DIR/gres.conf"
    if [ "$STAND_IN_GPUS" -gt 0 ]; then
        local shards=$((STAND_IN_GPUS * SHARDS_PER_GPU))
        # Character devices with the NVIDIA driver's major number (195), as SLURM expects.
        mkdir -p "$DIR/dev"
        for i in $(seq 0 $((STAND_IN_GPUS - 1))); do
            [ -c "$DIR/dev/nvidia$i" ] || mknod "$DIR/dev/nvidia$i" c 195 "$i"
        done
        printf 'Name=gpu File=%s/dev/nvidia[0-%d]\nName=shard Count=%d\n' \
            "$DIR" $((STAND_IN_GPUS - 1)) "$shards" > "$DIR/gres.conf"
        gres=" Gres=gpu:$STAND_IN_GPUS,shard:$shards"
        gres_types="GresTypes=gpu,shard"
        # Room for a one-CPU job on each shard, whatever this machine's core count.
        [ "$cpus" -ge "$shards" ] || { cpus=$shards; overrides="SlurmdParameters=config_overrides"; }
    fi
    mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
    cat > "$DIR/slurm.conf" <<EOF
ClusterName=$CLUSTER
# Every daemon listens on loopback only: a one-machine cluster needs no other interface.
SlurmctldHost=$host(127.0.0.1)
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageEnforce=associations
JobCompType=jobcomp/none
# A requeued job waits cred_expire seconds (reason BeginTime) before it may start again,
# and then for the next pass of the scheduler over pending jobs; SLURM's defaults are 120 s
# and 60 s. Shorter here, so that a requeue costs a test less time.
AuthInfo=cred_expire=$REQUEUE_DELAY_S
SchedulerParameters=sched_interval=5
$gres_types
$overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb$gres State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    cat > "$DIR/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
# slurmdbd itself listens on every interface: SLURM 22.05 has no setting to bind it to one
# address. It answers only requests signed with this machine's munge key.
SlurmUser=root
PidFile=$DIR/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=seqlab
StorageLoc=seqlab_slurm_acct
EOF
    chmod 600 "$DIR/slurmdbd.conf"
}

running() { [ -f "$DIR/$1.pid" ] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

stop_daemon() {  # stop_daemon <name>: stop it and wait until it is gone
    kill "$(cat "$DIR/$1.pid")"
    for _ in $(seq 150); do running "$1" || return 0; sleep 0.2; done
    die "$1 did not stop within 30s"
}

up() {
    install_packages
    [ "$(id -u)" -eq 0 ] || die "run 'up' as root (SLURM's daemons and services need it)"
    mkdir -p "$DIR"
    local before
    before=$(cat "$DIR/slurm.conf" "$DIR/gres.conf" 2>/dev/null || true)
    write_configs
    start_service munge munge -n
    start_service mariadb mysqladmin ping
    mysql -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'seqlab';
              GRANT ALL ON seqlab_slurm_acct.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
    running slurmdbd || slurmdbd
    wait_for 60 slurmdbd sacctmgr -n list cluster
    sacctmgr -i -Q add cluster "$CLUSTER" >/dev/null 2>&1 || true
    sacctmgr -i -Q add account seqlab Cluster="$CLUSTER" >/dev/null 2>&1 || true
    sacctmgr -i -Q add user "$(id -un)" Account=seqlab >/dev/null 2>&1 || true
    if [ "$before" != "$(cat "$DIR/slurm.conf" "$DIR/gres.conf" 2>/dev/null)" ]; then  # a changed config needs a restart
        for daemon in slurmd slurmctld; do running "$daemon" && stop_daemon "$daemon"; done
    fi
    running slurmctld || slurmctld
    wait_for 60 slurmctld scontrol ping
    running slurmd || slurmd
    wait_for 90 "the node" bash -c "sinfo -h -o %T | grep -qx idle"
    local gpus=""
    [ "$STAND_IN_GPUS" -gt 0 ] && gpus=", $STAND_IN_GPUS stand-in GPUs with $SHARDS_PER_GPU shards each"
    say "up: one node, $(sinfo -h -o %c) CPUs$gpus; run: eval \"\$($0 env)\""
}

down() {
    command -v scancel >/dev/null && scancel --full --user "$(id -un)" 2>/dev/null || true
    for daemon in slurmd slurmctld slurmdbd; do
        running "$daemon" && stop_daemon "$daemon" && say "stopped $daemon"
    done
    for service in mariadb munge; do
        if [ -f "$DIR/started-$service" ]; then
            service "$service" stop >/dev/null 2>&1 || true
            rm -f "$DIR/started-$service"
            say "stopped $service"
        fi
    done
}

status() {
    for daemon in slurmdbd slurmctld slurmd; do
        running "$daemon" && echo "$daemon: running" || echo "$daemon: stopped"
    done
    running slurmctld && sinfo
}

case "${1:-}" in
    up) up ;;
    install) install_packages ;;
    down) down ;;
    status) status ;;
    env) echo "export SLURM_CONF=$SLURM_CONF" ;;
    *) die "usage: $0 up|down|status|env|install" ;;
esac
