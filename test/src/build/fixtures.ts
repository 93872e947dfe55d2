import { FarmDefaults } from "../../../src/build/params";
import { downloadSettings } from "../../../src/build/downloads";
import { IMAGES, STX_TOOLS } from "../../../src/versions";

/** Farm defaults as the cengn stack has them, for tests of the pipeline definition. */
export const FARM_DEFAULTS: FarmDefaults = {
  objectStoreEndpoint: "http://minio.stx-system.svc:9000",
  artifactsBucket: "stx-artifacts",
  artifactsUrl: "https://s3.build.example.org/stx-artifacts",
  objectStoreSecret: "object-store-credentials",
  pulpUrl: "http://pulp-api.stx-system.svc:24817",
  registry: "registry.local:9001",
  registryInsecure: false,
  registrySecret: "registry-credentials",
  toolImages: {
    builder: `${STX_TOOLS.prefix}stx-builder:${STX_TOOLS.tag}`,
    pkgbuilder: `${STX_TOOLS.prefix}stx-pkgbuilder:${STX_TOOLS.tag}`,
    lat: `${STX_TOOLS.prefix}stx-lat-tool:${STX_TOOLS.tag}`,
    aptly: `${STX_TOOLS.prefix}stx-aptly:${STX_TOOLS.tag}`,
  },
  dockerImage: IMAGES.dockerDaemon,
  downloads: downloadSettings([], "stx-system"),
  distro: "debian",
  forcedWeekday: 0,
};
