# shellcheck shell=bash
# The checks of tools/images/smoke.sh, one per service: each starts what the program's pods start
# (same user, arguments and environment variables as components/services/*.ts give them) and
# probes it the way their probes and jobs do.

check_registry() {
  unpack registry
  chown -R 1000:1000 "$work/registry/var/lib/registry"
  start registry 1000:1000 -- /entrypoint.sh /etc/distribution/config.yml
  wait_for 30 "registry /v2/" curl_ns http://127.0.0.1:5000/v2/
  [[ $(curl_ns http://127.0.0.1:5000/v2/) == "{}" ]]
  push_image http://127.0.0.1:5000 smoke/image v1
  curl_ns -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' http://127.0.0.1:5000/v2/smoke/image/manifests/v1 | grep -q '"layers"'
  # The retention job's garbage collection runs the same image with the same config.
  run_in registry 1000:1000 -- registry garbage-collect --dry-run /etc/distribution/config.yml >/dev/null
  run_in registry 1000:1000 -- registry --version | grep -q 'v3.0.0'
}

# push_image URL REPOSITORY TAG: a one-layer image through the registry API (blob uploads, manifest).
push_image() {
  local url=$1 repo=$2 tag=$3 dir=$work/push
  mkdir -p "$dir/content" && echo smoke >"$dir/content/file"
  tar -C "$dir/content" -cf "$dir/layer" file
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$(sha256sum <"$dir/layer" | cut -d' ' -f1)" >"$dir/config"
  local blob digest location
  for blob in layer config; do
    digest=sha256:$(sha256sum <"$dir/$blob" | cut -d' ' -f1)
    location=$(curl_ns -X POST -D - -o /dev/null "$url/v2/$repo/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
    [[ $location == http* ]] || location=$url$location
    curl_ns -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$dir/$blob" "$location&digest=$digest" >/dev/null
    printf '{"mediaType":"%s","size":%d,"digest":"%s"}' \
      "$([[ $blob == layer ]] && echo application/vnd.docker.image.rootfs.diff.tar || echo application/vnd.docker.container.image.v1+json)" \
      "$(stat -c %s "$dir/$blob")" "$digest" >"$dir/$blob.desc"
  done
  printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":%s,"layers":[%s]}' \
    "$(<"$dir/config.desc")" "$(<"$dir/layer.desc")" >"$dir/manifest"
  curl_ns -X PUT -H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' --data-binary "@$dir/manifest" \
    "$url/v2/$repo/manifests/$tag" >/dev/null
}

# MinIO serves; mc (the bucket Job's commands, from /bin/sh) creates buckets and a user; rclone
# (the pipelines' S3 client) writes and lists through sh, grep and sort.
check_objectStore() {
  local keys=(MINIO_ROOT_USER=smokeadmin MINIO_ROOT_PASSWORD=smoke-secret-key MINIO_BROWSER=off)
  unpack minio && unpack minioClient && unpack objectStoreClient
  chown 1000:1000 "$work/minio/data"
  start minio 1000:1000 "${keys[@]}" -- /usr/bin/docker-entrypoint.sh server /data --address :9000 --console-address :9001
  wait_for 60 "minio ready" curl_ns http://127.0.0.1:9000/minio/health/ready
  chmod 1777 "$work/minioClient/tmp" # an emptyDir in the Job
  # Retried like the Job (backoffLimit): right after "ready" MinIO may still refuse admin calls.
  wait_for 60 "the bucket Job's mc commands" run_in minioClient 1000:1000 S3_ENDPOINT=http://127.0.0.1:9000 MC_CONFIG_DIR=/tmp/mc \
    AWS_ACCESS_KEY_ID=smokeadmin AWS_SECRET_ACCESS_KEY=smoke-secret-key -- /bin/sh -ec '
      mc alias set store "$S3_ENDPOINT" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >/dev/null
      mc mb --ignore-existing store/artifacts >/dev/null
      mc anonymous set download store/artifacts/published >/dev/null
      mc admin user add store smoke-tenant smoke-tenant-secret >/dev/null
      mc admin user list store --json | sed -n "s/.*\"accessKey\": *\"\\([^\"]*\\)\".*/\\1/p" | grep -qx smoke-tenant'
  chmod 1777 "$work/objectStoreClient/tmp"
  run_in objectStoreClient 1009:1009 RCLONE_CONFIG_STORE_TYPE=s3 RCLONE_CONFIG_STORE_PROVIDER=Minio \
    RCLONE_CONFIG_STORE_ENDPOINT=http://127.0.0.1:9000 RCLONE_CONFIG_STORE_ACCESS_KEY_ID=smokeadmin \
    RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY=smoke-secret-key HOME=/tmp -- /bin/sh -ec '
      printf "b\na\n" > /tmp/list
      rclone copyto /tmp/list store:artifacts/published/list
      rclone lsf -R --files-only store:artifacts | grep -v "^x$" | sort | grep -qx published/list'
  # published/ is readable anonymously, as the bucket Job's policy says.
  [[ $(curl_ns http://127.0.0.1:9000/artifacts/published/list) == $'b\na' ]]
  run_in objectStoreClient 1009:1009 -- rclone version | grep -q '^rclone v1.71.1'
}

check_pulpDatabase() {
  local env=(POSTGRES_USER=pulp POSTGRES_DB=pulp POSTGRES_PASSWORD=smoke-db-password PGDATA=/var/lib/postgresql/data/pgdata)
  unpack pulpDatabase
  start pulpDatabase 999:999 "${env[@]}" -- docker-entrypoint.sh postgres
  # The pod's probe.
  wait_for 60 "pg_isready" run_in pulpDatabase 999:999 -- pg_isready -U pulp -d pulp -h 127.0.0.1
  run_in pulpDatabase 999:999 PGPASSWORD=smoke-db-password -- psql -h 127.0.0.1 -U pulp -d pulp -tAc 'show server_version' | grep -qx '16.10'
  # A wrong password is refused over TCP (the pods connect over the network).
  ! run_in pulpDatabase 999:999 PGPASSWORD=wrong -- psql -h 127.0.0.1 -U pulp -d pulp -tAc 'select 1' >/dev/null 2>&1
}

check_pulpRedis() {
  unpack pulpRedis
  mkdir -p "$work/pulpRedis/etc/redis"
  printf 'requirepass "smoke-redis"\nsave ""\nappendonly no\n' >"$work/pulpRedis/etc/redis/redis.conf"
  # The pod's args: only the config file (the entry point prepends redis-server), in /data.
  start pulpRedis 999:1000 -- /bin/sh -c 'cd /data && exec docker-entrypoint.sh /etc/redis/redis.conf'
  wait_for 30 "redis PONG" run_in pulpRedis 999:1000 REDISCLI_AUTH=smoke-redis -- /bin/sh -c 'redis-cli -h 127.0.0.1 ping | grep -qx PONG'
  run_in pulpRedis 999:1000 -- /bin/sh -c 'redis-cli -h 127.0.0.1 ping 2>&1 | grep -q NOAUTH'
}

check_node() {
  unpack node
  [[ $(run_in node 1000:1000 -- docker-entrypoint.sh -p process.version) == v22.21.1 ]]
}

# The start script's tools, as the CronJob's user (65534).
check_kubectl() {
  unpack kubectl
  run_in kubectl 65534:65534 -- kubectl version --client >/dev/null
  [[ $(run_in kubectl 65534:65534 -- /bin/sh -c 'echo "{\"items\":[1,2]}" | jq -r ".items | length"') == 2 ]]
}

# kaniko as the tools-image Task runs it (root, no privilege): a Dockerfile build from a local
# context (FROM scratch: no registry here), written as a tarball instead of pushed, which must
# hold the copied file; the executor reports the pinned version.
check_kaniko() {
  unpack kaniko
  [[ $(run_in kaniko 0:0 -- /kaniko/executor version) == *"v1.24.0"* ]]
  mkdir -p "$work/kaniko/workspace/ctx"
  printf 'FROM scratch\nCOPY hello /hello\n' >"$work/kaniko/workspace/ctx/Dockerfile"
  echo smoke >"$work/kaniko/workspace/ctx/hello"
  # --force: a chroot is not a container by kaniko's test (which looks for a runtime's marks).
  run_in kaniko 0:0 -- /kaniko/executor --force --context=dir:///workspace/ctx --dockerfile=Dockerfile \
    --no-push --destination=smoke.invalid/kaniko:1 --tar-path=/workspace/out.tar >"$work/kaniko.log" 2>&1
  tar -xOf "$work/kaniko/workspace/out.tar" manifest.json | grep -q '"smoke.invalid/kaniko:1"'
  local layer
  layer=$(tar -xOf "$work/kaniko/workspace/out.tar" manifest.json | node -e 'console.log(JSON.parse(require("fs").readFileSync(0))[0].Layers.at(-1))')
  [[ $(tar -xOf "$work/kaniko/workspace/out.tar" "$layer" | tar -xzO hello 2>/dev/null || tar -xOf "$work/kaniko/workspace/out.tar" "$layer" | tar -xO hello) == smoke ]]
}

# The tools-image Task's stx-builder step with the arguments a TaskRun gives it (rendered from the
# Task, bin/: npm run build first): kaniko clones a repository laid out like starlingx/tools from a
# smart-HTTP git server at a pinned commit that is not the branch's head, builds its
# stx/debian/trixie/dockerfiles/stx-builder.Dockerfile with the build arguments, pushes over plain
# HTTP (INSECURE_REGISTRY) to the registry image, and writes the digest the registry then serves.
# The registry here has no login (no bcrypt tool on the host): DOCKER_CONFIG is present but unused.
check_kanikoTask() {
  unpack kaniko && unpack registry
  chown -R 1000:1000 "$work/registry/var/lib/registry"
  start registry 1000:1000 -- /entrypoint.sh /etc/distribution/config.yml
  local src=$work/tools-src git=(git -c user.name=smoke -c user.email=smoke@invalid -c init.defaultBranch=master)
  mkdir -p "$src/stx/debian/trixie/dockerfiles" "$src/stx/debian/trixie/toCOPY/builder" "$work/git"
  printf 'FROM scratch\nARG debian_snapshot_timestamp=""\nARG os_mirror_url\nCOPY stx/debian/trixie/toCOPY/builder/marker /marker\n' \
    >"$src/stx/debian/trixie/dockerfiles/stx-builder.Dockerfile"
  echo pinned >"$src/stx/debian/trixie/toCOPY/builder/marker"
  (cd "$src" && "${git[@]}" init -q && "${git[@]}" add -A && "${git[@]}" commit -qm pinned)
  local pinned
  pinned=$(git -C "$src" rev-parse HEAD)
  echo later >"$src/stx/debian/trixie/toCOPY/builder/marker"
  (cd "$src" && "${git[@]}" commit -qam later)
  git clone -q --bare "$src" "$work/git/tools.git"
  ip netns exec "$ns" node "$repo/tools/images/gitHttp.js" "$work/git" 8418 >"$work/git.log" 2>&1 &
  echo $! >>"$work/pids"
  wait_for 30 "registry /v2/" curl_ns http://127.0.0.1:5000/v2/
  wait_for 30 "git server" curl_ns "http://127.0.0.1:8418/tools.git/info/refs?service=git-upload-pack"
  mkdir -p "$work/kaniko/results"
  echo '{"auths":{"127.0.0.1:5000":{"auth":"c21va2U6c21va2U="}}}' >"$work/kaniko/kaniko/.docker/config.json"
  local args=()
  mapfile -t args < <(node "$repo/tools/images/kanikoTaskArgs.js" stx-builder "GIT_CONTEXT=git://127.0.0.1:8418/tools.git#refs/heads/master#$pinned" \
    REGISTRY=127.0.0.1:5000 INSECURE_REGISTRY=127.0.0.1:5000 NAMESPACE=build-smoke-master RESULTS_DIR=/results 2>/dev/null)
  log "  kaniko ${args[*]}"
  run_in kaniko 0:0 GIT_PULL_METHOD=http -- /kaniko/executor --force "${args[@]}" >"$work/kaniko.log" 2>&1
  local digest served
  digest=$(cat "$work/kaniko/results/stx-builder-digest")
  served=$(curl_ns -I -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
    http://127.0.0.1:5000/v2/build-smoke-master/starlingx-tools/stx-builder/manifests/smoke | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
  log "  pushed 127.0.0.1:5000/build-smoke-master/starlingx-tools/stx-builder:smoke $digest (registry: $served)"
  [[ $digest == sha256:* && $digest == "$served" ]]
  # The layer holds the pinned commit's file, not the branch head's.
  local layer
  layer=$(curl_ns -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
    http://127.0.0.1:5000/v2/build-smoke-master/starlingx-tools/stx-builder/manifests/smoke | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).layers.at(-1).digest)')
  [[ $(curl_ns "http://127.0.0.1:5000/v2/build-smoke-master/starlingx-tools/stx-builder/blobs/$layer" | tar -xzO marker) == pinned ]]
}

# Tekton's prepare step copies the entrypoint; workingdirinit makes working directories under
# /workspace; the shell image runs scripts with busybox sh.
check_tekton() {
  local i
  for i in entrypoint nop workingdirinit sidecarlogresults shell; do unpack "tekton-$i"; done
  mkdir -p "$work/tekton-entrypoint/tekton/bin"
  run_in tekton-entrypoint 0:0 -- /ko-app/entrypoint init /ko-app/entrypoint /tekton/bin/entrypoint
  [[ -x $work/tekton-entrypoint/tekton/bin/entrypoint ]]
  run_in tekton-workingdirinit 0:0 -- /ko-app/workingdirinit /workspace/source/sub
  [[ -d $work/tekton-workingdirinit/workspace/source/sub ]]
  run_in tekton-nop 0:0 -- /ko-app/nop 2>&1 | grep -q Exiting
  run_in tekton-sidecarlogresults 0:0 -- /ko-app/sidecarlogresults -help 2>&1 | grep -q results-dir
  [[ $(run_in tekton-shell 0:0 -- sh -c 'printf hello | base64 | base64 -d') == hello ]]
}

# Pulp with the program's own settings file (src/services/pulpConfig.ts, from bin/ after npm run
# build): PostgreSQL and Redis up, the migration Job's commands, then the api (its readiness path
# reports database and Redis connected), the content app and a worker, all as uid 700.
check_pulp() {
  local config=$repo/bin/src/services/pulpConfig.js db_password=smoke-db-password redis_password=smoke-redis
  [[ -f $config ]] || { log "pulp: $config missing (npm run build first)"; return 1; }
  unpack pulp && unpack pulpDatabase && unpack pulpRedis
  start pulpDatabase 999:999 POSTGRES_USER=pulp POSTGRES_DB=pulp POSTGRES_PASSWORD=$db_password \
    PGDATA=/var/lib/postgresql/data/pgdata -- docker-entrypoint.sh postgres
  mkdir -p "$work/pulpRedis/etc/redis"
  printf 'requirepass "%s"\nsave ""\nappendonly no\n' "$redis_password" >"$work/pulpRedis/etc/redis/redis.conf"
  start pulpRedis 999:1000 -- /bin/sh -c 'cd /data && exec docker-entrypoint.sh /etc/redis/redis.conf'
  mkdir -p "$work/pulp/etc/pulp/keys" "$work/pulp/etc/pulp/admin"
  node -e '
    const { renderPulpSettings } = require(process.argv[1]);
    process.stdout.write(renderPulpSettings({
      secretKey: "smoke-secret-key-smoke-secret-key-smoke-secret-key", contentOrigin: "http://127.0.0.1:24816",
      database: { host: "127.0.0.1", port: 5432, name: "pulp", user: "pulp", password: process.argv[2] },
      redis: { host: "127.0.0.1", port: 6379, password: process.argv[3] }, redirectToObjectStorage: false }));' \
    "$config" "$db_password" "$redis_password" >"$work/pulp/etc/pulp/settings.py"
  head -c 32 /dev/urandom | base64 | tr '+/' '-_' >"$work/pulp/etc/pulp/keys/database_fields.symmetric.key"
  echo smoke-admin-password >"$work/pulp/etc/pulp/admin/admin-password"
  chmod -R a+rX "$work/pulp/etc/pulp"
  local env=(POSTGRES_SERVICE_HOST=127.0.0.1 POSTGRES_SERVICE_PORT=5432)
  wait_for 60 "pg_isready" run_in pulpDatabase 999:999 -- pg_isready -U pulp -d pulp -h 127.0.0.1
  # The migration Job's script (components/services/pulp.ts).
  run_in pulp 700:700 "${env[@]}" -- /bin/sh -ec 'pulpcore-manager migrate --noinput
    pulpcore-manager reset-admin-password --password "$(cat /etc/pulp/admin/admin-password)"' >"$work/migrate.log" 2>&1
  start pulp 700:700 "${env[@]}" -- /usr/bin/pulp-api
  cp "$work/pulp.log" "$work/pulp-api.log" 2>/dev/null || true
  run_in pulp 700:700 "${env[@]}" -- /usr/bin/pulp-content >"$work/pulp-content.log" 2>&1 &
  echo $! >>"$work/pids"
  run_in pulp 700:700 "${env[@]}" -- /usr/bin/pulp-worker >"$work/pulp-worker.log" 2>&1 &
  echo $! >>"$work/pids"
  wait_for 180 "pulp api status" curl_ns http://127.0.0.1:24817/pulp/api/v3/status/
  local status
  status=$(curl_ns http://127.0.0.1:24817/pulp/api/v3/status/)
  node -e 'const s = JSON.parse(process.argv[1]);
    if (!s.database_connection.connected || !s.redis_connection.connected) throw new Error("not connected: " + process.argv[1]);
    const v = Object.fromEntries(s.versions.map((p) => [p.component, p.version]));
    if (v.core !== process.argv[2] || v.deb !== process.argv[3]) throw new Error("versions " + JSON.stringify(v));' \
    "$status" "$(. "$repo/scripts/images.versions"; echo "$PULPCORE_VERSION")" "$(. "$repo/scripts/images.versions"; echo "$PULP_DEB_VERSION")"
  # The admin password the Job set works; the content app serves; the worker comes online.
  curl_ns -u admin:smoke-admin-password http://127.0.0.1:24817/pulp/api/v3/repositories/deb/apt/ | grep -q '"count":0'
  wait_for 60 "pulp content app" curl_ns http://127.0.0.1:24816/pulp/content/
  wait_for 90 "a pulp worker online" sh -c "ip netns exec $ns curl -fsS http://127.0.0.1:24817/pulp/api/v3/status/ | grep -q '\"online_workers\":\[{'"
}

# The archives as the node loads them: a private containerd (its own root, state and socket under
# the smoke directory; CRI off, so nothing of a node's containerd is touched) imports every built
# image with `ctr images import --all-platforms` and runs two of them.
check_containerd() {
  command -v containerd >/dev/null && command -v ctr >/dev/null || { log "containerd: not installed, skipped"; return 0; }
  local dir=$work/containerd ctr line
  mkdir -p "$dir"
  printf 'version = 2\nroot = "%s/root"\nstate = "%s/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "%s/sock"\n[ttrpc]\n  address = "%s/sock.ttrpc"\n' \
    "$dir" "$dir" "$dir" "$dir" >"$dir/config.toml"
  containerd --config "$dir/config.toml" >"$work/containerd.log" 2>&1 &
  echo $! >>"$work/pids"
  ctr=(ctr -a "$dir/sock" -n k8s.io)
  wait_for 30 "containerd" "${ctr[@]}" version
  while IFS=$'\t' read -r line tar; do
    "${ctr[@]}" images import --all-platforms "$tar" >/dev/null
    # containerd (and the CRI, for a pod's image) names a tag@digest reference by its digest only.
    "${ctr[@]}" images ls -q | grep -qxF "$(sed -E 's#^([^@]*/[^:@/]+):[^@/]+@#\1@#' <<<"$line")"
  done < <(bash "$repo/scripts/images.sh" --list)
  [[ $("${ctr[@]}" run --rm docker.io/library/registry:3.0.0 smoke-registry registry --version) == *v3.0.0* ]]
  local shell
  shell=$(bash "$repo/scripts/images.sh" --list | cut -f1 | grep '^cgr.dev/chainguard/busybox@')
  [[ $("${ctr[@]}" run --rm "$shell" smoke-shell sh -c 'echo ok') == ok ]]
  # Unmount what the runs left before the directory goes.
  grep -F " $dir/" /proc/mounts | cut -d' ' -f2 | tac >>"$work/mounts" || true
}
