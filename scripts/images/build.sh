# shellcheck shell=bash
# One function per test-double image, sourced by scripts/images.sh: each fills the image root $M
# (an overlay on the Debian base; `inroot` runs a command inside it) and writes the image config.
# The image configs follow the upstream images' (entry point, command, user, working directory).

# distribution's registry at /bin/registry, its default config and the upstream entry point.
build_registry() {
  goinstall "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION" "$M/usr/bin" \
    "-X github.com/distribution/distribution/v3/version.version=$DISTRIBUTION_VERSION"
  copy_files registry
  mkdir -p "$M/var/lib/registry"
  config '{"Entrypoint":["/entrypoint.sh"],"Cmd":["/etc/distribution/config.yml"],"Env":['"$PATH_ENV"'],
    "ExposedPorts":{"5000/tcp":{}},"Volumes":{"/var/lib/registry":{}}}'
}
