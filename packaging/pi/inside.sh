#!/bin/sh
# Runs inside the bookworm root made by packaging/pi/check (own network, mount and PID
# namespaces): one PHASE of installing, running, upgrading and removing the ethos-hub package
# from the signed apt repository in /srv/ethos-apt.   inside.sh PHASE
set -eu
phase=$1
unit=/lib/systemd/system/ethos-hub.service
hub_port=8181
apt_opts="-o Dir::Etc::sourcelist=/etc/apt/sources.list.d/ethos.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

say() { echo "check[$phase]: $*"; }
fail() { echo "check[$phase]: FAILED: $*" >&2; exit 1; }

wait_for() {  # wait_for SECONDS COMMAND...: until the command succeeds
    limit=$1; shift
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -le $((limit * 2)) ] || return 1
        sleep 0.5
    done
}

health() {  # health FIELD: a field of the hub's /healthz
    python3 -c 'import json, sys, urllib.request
with urllib.request.urlopen("http://127.0.0.1:%s/healthz" % sys.argv[1], timeout=5) as r:
    print(json.load(r)[sys.argv[2]])' "$hub_port" "$1"
}

start_broker() {
    install -d -o mosquitto -g mosquitto /run/mosquitto  # systemd's RuntimeDirectory= would
    mosquitto -c /etc/mosquitto/mosquitto.conf -d
    wait_for 20 python3 -c 'import socket; socket.create_connection(("127.0.0.1", 1883), 1)' \
        || fail "Mosquitto did not start: $(tail -5 /var/log/mosquitto/mosquitto.log 2>/dev/null)"
}

stop_broker() {  # gracefully: it saves the retained messages (the sensor's discovery)
    pid=$(cat /run/mosquitto/mosquitto.pid)
    kill -TERM "$pid"
    wait_for 30 sh -c "! kill -0 $pid" || fail "Mosquitto did not stop"
}

entities_above() {  # entities_above N: the hub has more than N entities
    [ "$(health entities)" -gt "$1" ]
}

start_hub() {
    # As systemd would: the unit's user, its environment (Environment=, then the
    # EnvironmentFile= files in order) and its command line.
    user=$(sed -n 's/^User=//p' "$unit")
    command=$(sed -n 's/^ExecStart=//p' "$unit")
    set --
    for assignment in $(sed -n 's/^Environment=//p' "$unit"); do set -- "$@" "$assignment"; done
    for file in $(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit"); do
        [ -r "$file" ] || continue
        while IFS= read -r line; do
            case "$line" in ''|'#'*) ;; *) set -- "$@" "$line" ;; esac
        done <"$file"
    done
    # shellcheck disable=SC2086  # the unit's command line, split as systemd splits it here
    setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs \
        env -i PATH=/usr/bin:/bin HOME=/nonexistent "$@" $command >/var/tmp/hub.log 2>&1 &
    echo $! >/var/tmp/hub.pid
    wait_for 240 health state || { cat /var/tmp/hub.log >&2; fail "the hub did not answer /healthz"; }
    [ "$(health state)" = running ] || fail "the hub is $(health state)"
    say "hub running as $user ($(ps -o user= -p "$(cat /var/tmp/hub.pid)" 2>/dev/null || echo "$user"))"
}

stop_hub() {
    pid=$(cat /var/tmp/hub.pid)
    kill -TERM "$pid"
    wait_for 60 sh -c "! kill -0 $pid" || fail "the hub did not stop"
}

mqtt_admin() {  # mosquitto_ctrl as the hub's account (the broker's dynamic-security admin)
    url=$(sed -n 's/^MQTT_URL=//p' /etc/ethos/hub-mqtt.env)
    password=${url#mqtt://ethos-hub:}
    password=${password%@*}
    mosquitto_ctrl -h 127.0.0.1 -p 1883 -u ethos-hub -P "$password" dynsec "$@"
}

case "$phase" in
    install)
        apt-get $apt_opts update -q
        apt-get $apt_opts install -y -q ethos-hub
        say "installed $(dpkg-query -W -f '${Version}' ethos-hub)"
        systemd-analyze verify ethos-hub.service
        say "systemd-analyze verify: clean"
        [ -L /etc/systemd/system/multi-user.target.wants/ethos-hub.service ] || fail "the service is not enabled"
        [ -s /etc/mosquitto/conf.d/ethos-hub.conf ] || fail "Mosquitto was not set up"
        start_broker
        start_hub
        # A third-party sensor announces itself by MQTT discovery with its own account.
        mqtt_admin createRole check-sensor
        mqtt_admin addRoleACL check-sensor publishClientSend 'homeassistant/#' allow
        mqtt_admin addRoleACL check-sensor publishClientSend 'check/#' allow
        mqtt_admin createClient check-sensor -p check-sensor-password
        mqtt_admin addClientRole check-sensor check-sensor
        before=$(health entities)
        mosquitto_pub -h 127.0.0.1 -u check-sensor -P check-sensor-password -r \
            -t homeassistant/sensor/check-1/temperature/config \
            -m '{"name": "Check temperature", "state_topic": "check/1/temperature", "unit_of_measurement": "°C", "device_class": "temperature", "unique_id": "check-1-temperature", "device": {"identifiers": ["check-1"], "name": "Check sensor"}}'
        mosquitto_pub -h 127.0.0.1 -u check-sensor -P check-sensor-password -r -t check/1/temperature -m 21.5
        wait_for 60 entities_above "$before" \
            || { cat /var/tmp/hub.log >&2; fail "the discovered entity did not appear"; }
        say "discovered MQTT entity appeared ($before -> $(health entities) entities)"
        stop_hub  # a graceful stop writes the registries
        grep -q check-1-temperature /var/lib/ethos-hub/hub/storage/core.entity_registry.json \
            || fail "the entity registry does not hold the entity"
        sha256sum /var/lib/ethos-hub/hub/storage/core.entity_registry.json >/var/tmp/registry.sha256
        stop_broker
        ;;
    upgrade)
        before=$(dpkg-query -W -f '${Version}' ethos-hub)
        apt-get $apt_opts update -q
        apt-get $apt_opts upgrade -y -q
        after=$(dpkg-query -W -f '${Version}' ethos-hub)
        [ "$before" != "$after" ] || fail "apt upgrade left $before in place"
        say "upgraded $before -> $after"
        sha256sum -c --quiet /var/tmp/registry.sha256 || fail "the upgrade changed the hub's data"
        start_broker
        start_hub
        wait_for 60 entities_above 0 || fail "the upgraded hub did not find its sensor again"
        stop_hub
        grep -q check-1-temperature /var/lib/ethos-hub/hub/storage/core.entity_registry.json \
            || fail "the upgraded hub lost its entity"
        say "the upgraded hub runs with its data (the sensor's entity kept)"
        ;;
    remove)
        apt-get $apt_opts remove -y -q ethos-hub
        [ -f /var/lib/ethos-hub/hub/storage/core.entity_registry.json ] || fail "remove deleted the data"
        [ -f /etc/ethos/hub.env ] || fail "remove deleted the configuration"
        say "remove kept the data and the configuration"
        apt-get $apt_opts purge -y -q ethos-hub
        [ ! -e /var/lib/ethos-hub ] || fail "purge kept /var/lib/ethos-hub"
        [ ! -e /etc/ethos ] || fail "purge kept /etc/ethos"
        [ ! -e /etc/mosquitto/conf.d/ethos-hub.conf ] || fail "purge kept the broker set-up"
        say "purge removed the data, the configuration and the broker set-up"
        ;;
    *) fail "unknown phase" ;;
esac
