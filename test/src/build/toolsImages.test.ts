import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BUILT_TOOLS_IMAGES, kanikoGitContext, KANIKO_SECURITY_CONTEXT, toolsAptMirror, toolsImagesTask, ToolsImagesTaskArgs, TOOLS_IMAGES_TASK } from "../../../src/build/toolsImages";
import { IMAGES, STX_TOOLS_SOURCE } from "../../../src/versions";
import { MirrorSettings } from "../../../src/settings/services";

const UPSTREAM = path.resolve(__dirname, "..", "..", "..", "..", "..", "shared", "upstream", "starlingx-tools-52d6081e.tar.gz");

const ARGS: ToolsImagesTaskArgs = {
  namespace: "stx-system",
  labels: { "app.kubernetes.io/part-of": "stx-build-cluster" },
  kanikoImage: IMAGES.kaniko,
  gitUrl: STX_TOOLS_SOURCE.url,
  gitRef: STX_TOOLS_SOURCE.ref,
  commit: STX_TOOLS_SOURCE.commit,
  registry: "registry.stx-system.svc:5000",
  registryInsecure: true,
  registrySecret: "registry-credentials",
  repository: "starlingx-tools/",
  tag: "master-debian-trixie-amd64-52d6081eb456",
  codename: "trixie",
  osMirrorUrl: "https://mirror.starlingx.windriver.com/mirror/",
  osMirrorDistPath: "debian/debian/",
  debianSnapshot: "20260516T111458Z",
  registryMap: "index.docker.io=registry.stx-system.svc:5000/mirror/dockerhub/",
};

type Step = { name: string; image: string; args: string[]; when: { input: string; operator: string; values: string[] }[]; env: { name: string; value: string }[]; securityContext: typeof KANIKO_SECURITY_CONTEXT; volumeMounts: { mountPath: string }[] };
const task = toolsImagesTask(ARGS) as { metadata: { name: string; namespace: string }; spec: { params: { name: string; type: string; default: string }[]; steps: Step[]; volumes: any[]; results: { name: string }[] } };
const defaultOf = (name: string) => task.spec.params.find((p) => p.name === name)?.default;
const flag = (step: Step, name: string) => step.args.filter((a) => a.startsWith(`--${name}=`)).map((a) => a.slice(name.length + 3));

/** A file of the starlingx/tools snapshot (the pinned commit), read from ../shared/upstream. */
function upstreamFile(file: string): string {
  if (!fs.existsSync(UPSTREAM)) throw new Error(`missing ${UPSTREAM} (the starlingx/tools snapshot, ../shared/upstream/README.md)`);
  return execFileSync("tar", ["-xzOf", UPSTREAM, `starlingx-tools/${file}`], { encoding: "utf8", maxBuffer: 16 << 20 });
}

/** Substitutes a Task's $(params.X) with the params' defaults, as Tekton does for a run without params. */
const resolve = (text: string) => text.replace(/\$\(params\.([A-Z_]+)\)/g, (_, name: string) => defaultOf(name) ?? `<no param ${name}>`);

describe("the tools-image Task (kaniko)", () => {
  it("builds stx-builder, stx-pkgbuilder and stx-aptly, one kaniko step each, in the shared namespace", () => {
    expect(task.metadata).to.deep.include({ name: TOOLS_IMAGES_TASK, namespace: "stx-system" });
    expect(task.spec.steps.map((s) => s.name)).to.deep.equal(["stx-builder", "stx-pkgbuilder", "stx-aptly"]);
    for (const step of task.spec.steps) expect(resolve(step.image)).to.equal(IMAGES.kaniko);
    // An explicit command: Tekton would otherwise fetch the image's entry point from its registry.
    for (const step of task.spec.steps as (Step & { command?: string[] })[]) expect(step.command).to.deep.equal(["/kaniko/executor"]);
    expect(task.spec.results.map((r) => r.name)).to.deep.equal(BUILT_TOOLS_IMAGES.map((i) => `${i}-digest`));
  });

  it("uses the Dockerfiles of the pinned starlingx/tools commit, with the repository's root as context", () => {
    for (const step of task.spec.steps) {
      const [dockerfile] = flag(step, "dockerfile").map(resolve);
      expect(dockerfile).to.equal(`stx/debian/trixie/dockerfiles/${step.name}.Dockerfile`);
      const text = upstreamFile(dockerfile!);
      expect(text, dockerfile).to.match(/^FROM debian:trixie$/m);
      // Every COPY source is relative to the repository's root (the context kaniko clones).
      for (const [, source] of text.matchAll(/^COPY (?:--\S+ )*(\S+) /gm)) expect(source, `${dockerfile}: COPY ${source}`).to.match(/^stx\/debian\/trixie\/toCOPY\//);
    }
  });

  it("passes each Dockerfile only build arguments it declares, and all that stx-builder requires", () => {
    for (const step of task.spec.steps) {
      const text = upstreamFile(`stx/debian/trixie/dockerfiles/${step.name}.Dockerfile`);
      const declared = [...text.matchAll(/^ARG ([A-Za-z_]+)/gm)].map((m) => m[1]);
      const given = flag(step, "build-arg").map((a) => a.split("=")[0]);
      const unknown = step.name === "stx-builder" ? given.filter((a) => !declared.includes(a)) : given.filter((a) => !declared.includes(a) && a !== "debian_snapshot_timestamp");
      expect(unknown, step.name).to.deep.equal([]);
    }
    const builder = task.spec.steps[0]!;
    expect(flag(builder, "build-arg").map(resolve)).to.include("debian_snapshot_timestamp=20260516T111458Z");
  });

  it("clones the pinned commit itself (kaniko's git context), over the URL's scheme", () => {
    const step = task.spec.steps[0]!;
    expect(resolve(flag(step, "context")[0]!)).to.equal(`git://opendev.org/starlingx/tools.git#refs/heads/master#${STX_TOOLS_SOURCE.commit}`);
    expect(resolve(step.env.find((e) => e.name === "GIT_PULL_METHOD")!.value)).to.equal("https");
    expect(kanikoGitContext("http://127.0.0.1:8080/tools.git", "refs/heads/r/stx.10", "a".repeat(40))).to.deep.equal({
      context: `git://127.0.0.1:8080/tools.git#refs/heads/r/stx.10#${"a".repeat(40)}`, pullMethod: "http",
    });
    expect(() => kanikoGitContext("ssh://git@opendev.org/starlingx/tools.git", "refs/heads/master", "a".repeat(40))).to.throw(/build\.toolsImageBuild\.gitUrl: kaniko clones over http or https only/);
    expect(() => kanikoGitContext(STX_TOOLS_SOURCE.url, "refs/heads/master", "52d6081e")).to.throw(/build\.toolsImageBuild\.commit: "52d6081e" is not a full commit hash/);
  });

  it("pushes under the run namespace's own registry prefix, plain HTTP only to an insecure registry", () => {
    const step = task.spec.steps[1]!;
    expect(flag(step, "destination").map(resolve)).to.deep.equal(["registry.stx-system.svc:5000/$(context.taskRun.namespace)/starlingx-tools/stx-pkgbuilder:master-debian-trixie-amd64-52d6081eb456"]);
    expect(flag(step, "insecure-registry").map(resolve)).to.deep.equal(["registry.stx-system.svc:5000"]);
    const tls = toolsImagesTask({ ...ARGS, registryInsecure: false }) as typeof task;
    expect(tls.spec.params.find((p) => p.name === "INSECURE_REGISTRY")!.default).to.equal("");
    expect(flag(step, "digest-file")).to.deep.equal(["$(results.stx-pkgbuilder-digest.path)"]);
  });

  it("hands kaniko the namespace's registry login as its Docker config, read-only", () => {
    expect(task.spec.volumes).to.deep.equal([{ name: "registry-auth", secret: { secretName: "$(params.REGISTRY_SECRET)", optional: true, items: [{ key: ".dockerconfigjson", path: "config.json" }] } }]);
    expect(defaultOf("REGISTRY_SECRET")).to.equal("registry-credentials");
    for (const step of task.spec.steps) {
      expect(step.env).to.deep.include({ name: "DOCKER_CONFIG", value: "/kaniko/.docker/" });
      expect(step.volumeMounts).to.deep.equal([{ name: "registry-auth", mountPath: "/kaniko/.docker", readOnly: true }]);
    }
  });

  it("runs kaniko as root without privilege, within Pod Security baseline", () => {
    // Pod Security Standards, baseline: the capabilities a container may add.
    const baselineCaps = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"];
    for (const step of task.spec.steps) {
      const sc = step.securityContext;
      expect(sc).to.deep.include({ runAsUser: 0, privileged: false, allowPrivilegeEscalation: false });
      expect(sc.capabilities.drop).to.deep.equal(["ALL"]);
      expect(sc.capabilities.add.filter((c) => !baselineCaps.includes(c))).to.deep.equal([]);
      expect(sc.capabilities.add).to.not.include.members(["NET_RAW", "MKNOD"]);
      // chroot(2) needs CAP_SYS_CHROOT; upstream's stx-builder chroots into its apt chroot to finish debootstrap.
      const chroots = /^RUN chroot /m.test(upstreamFile(`stx/debian/trixie/dockerfiles/${step.name}.Dockerfile`));
      if (chroots) expect(sc.capabilities.add, step.name).to.include("SYS_CHROOT");
      expect(sc.seccompProfile).to.deep.equal({ type: "RuntimeDefault" });
    }
  });

  it("builds only the images a run names (IMAGES, all three by default), each step behind a when", () => {
    const images = task.spec.params.find((p) => p.name === "IMAGES")!;
    expect(images).to.deep.include({ type: "array", default: [...BUILT_TOOLS_IMAGES] });
    for (const step of task.spec.steps) expect(step.when).to.deep.equal([{ input: step.name, operator: "in", values: ["$(params.IMAGES[*])"] }]);
  });

  it("pulls the Dockerfiles' base images through the site's registry map", () => {
    for (const step of task.spec.steps) expect(flag(step, "registry-map").map(resolve)).to.deep.equal([ARGS.registryMap]);
    expect((toolsImagesTask({ ...ARGS, registryMap: "" }) as typeof task).spec.params.find((p) => p.name === "REGISTRY_MAP")!.default).to.equal("");
  });
});

describe("where the tools images' apt goes (toolsAptMirror)", () => {
  const CONTENT = "http://pulp-content.stx-system.svc:24816/pulp/content";
  const deb = (name: string, basePath: string, distributions: string): MirrorSettings => ({ name, type: "deb", url: "http://deb.debian.org/debian", basePath, distributions, policy: "on_demand" });
  const debian = deb("trixie", "site/deb.debian.org/debian", "trixie trixie-updates trixie-backports");
  const security = deb("trixie-security", "site/deb.debian.org/debian-security", "trixie-security");

  it("goes through Pulp when Debian is mirrored by host name, as the Dockerfiles join the URL", () => {
    const mirror = toolsAptMirror([debian, security], `${CONTENT}/`, "trixie")!;
    expect(mirror).to.deep.equal({ osMirrorUrl: `${CONTENT}/`, osMirrorDistPath: "site/" });
    // stx-aptly.Dockerfile:33: ${os_mirror_url}${os_mirror_dist_path}deb.debian.org/debian
    const line = /^RUN echo "deb (\S+) trixie /m.exec(upstreamFile("stx/debian/trixie/dockerfiles/stx-aptly.Dockerfile"))![1]!;
    expect(line.replace("${os_mirror_url}", mirror.osMirrorUrl).replace("${os_mirror_dist_path}", mirror.osMirrorDistPath)).to.equal(`${CONTENT}/site/deb.debian.org/debian`);
    expect(toolsAptMirror([deb("root", "deb.debian.org/debian", "trixie"), deb("sec", "deb.debian.org/debian-security", "trixie-security")], CONTENT, "trixie")).to.deep.equal({ osMirrorUrl: `${CONTENT}/`, osMirrorDistPath: "" });
  });

  it("keeps the StarlingX mirror when no mirror has that layout or codename, and refuses half of one", () => {
    expect(toolsAptMirror([], CONTENT, "trixie")).to.equal(undefined);
    expect(toolsAptMirror([deb("other", "mirror/debian", "trixie")], CONTENT, "trixie")).to.equal(undefined);
    expect(toolsAptMirror([deb("old", "x/deb.debian.org/debian", "bookworm"), security], CONTENT, "trixie")).to.equal(undefined);
    expect(() => toolsAptMirror([debian], CONTENT, "trixie")).to.throw(/^services\.pulp\.mirrors: "trixie" .*under site\/deb\.debian\.org\/debian-security .*declare a deb mirror with that basePath/);
  });
});
