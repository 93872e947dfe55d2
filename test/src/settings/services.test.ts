import { expect } from "chai";
import { parseSettings, SettingsError } from "../../../src/settings/schema";
import { stackFileConfig } from "../../../tools/mockedProgram";

/** The problem lines parseSettings reports for the stack file with `services` overrides. */
function problems(stack: string, services: Record<string, unknown>, extra: Record<string, unknown> = {}): string[] {
  try {
    const file = stackFileConfig(stack) as { services?: Record<string, unknown> };
    parseSettings({ ...file, services: { ...file.services, ...services }, ...extra });
  } catch (e) {
    if (e instanceof SettingsError) return [...e.problems];
    throw e;
  }
  return [];
}

describe("services settings", () => {
  for (const stack of ["minikube", "cengn", "starlingx"]) {
    it(`accepts the ${stack} profile defaults`, () => {
      const settings = parseSettings(stackFileConfig(stack));
      expect(settings.services.pulp.mirrors.length).to.be.at.least(1);
      expect(settings.services.objectStore.buckets.artifacts).to.equal("stx-artifacts");
    });
  }

  it("picks the variant per stack: PVC or S3 for Pulp, own or platform registry", () => {
    const variant = (stack: string) => {
      const s = parseSettings(stackFileConfig(stack)).services;
      return [s.pulp.storage, s.registry.mode, s.registry.storage, s.exposure.kind];
    };
    expect(variant("minikube")).to.deep.equal(["pvc", "own", "pvc", "nodePort"]);
    expect(variant("cengn")).to.deep.equal(["s3", "own", "s3", "ingress"]);
    expect(variant("starlingx")).to.deep.equal(["pvc", "platform", "pvc", "ingress"]);
  });

  it("requires an endpoint for an external object store", () => {
    expect(problems("cengn", { objectStore: { mode: "external" } })).to.deep.equal([
      'stx-build-cluster:services.objectStore.endpoint: is required when services.objectStore.mode is "external"',
    ]);
  });

  it("rejects a storage size that is not a quantity, naming the setting", () => {
    const lines = problems("minikube", { pulp: { size: "lots" } });
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^stx-build-cluster:services\.pulp\.size: must be a Kubernetes quantity/);
    expect(problems("minikube", { objectStore: { size: "-5Gi" } })[0]).to.match(/^stx-build-cluster:services\.objectStore\.size: /);
  });

  it("refuses a Pulp volume shared across nodes without a ReadWriteMany class", () => {
    const [line] = problems("cengn", { pulp: { storage: "pvc" } });
    expect(line).to.match(/^stx-build-cluster:services\.pulp\.storage: "pvc" needs one volume shared by every Pulp pod, but the cluster has 3 nodes/);
  });

  it("allows redirects to object storage only when clients can reach it", () => {
    expect(problems("cengn", { pulp: { redirectToObjectStorage: true } })[0]).to.match(
      /^stx-build-cluster:services\.pulp\.redirectToObjectStorage: needs .*publicUrl/,
    );
    expect(problems("cengn", { pulp: { redirectToObjectStorage: true }, objectStore: { publicUrl: "https://s3.example.org" } })).to.deep.equal([]);
  });

  it("checks mirrors: distributions for deb, unique names, known keys", () => {
    const mirrors = [
      { name: "debian", type: "deb", url: "http://deb.debian.org/debian" },
      { name: "debian", type: "file", url: "https://example.org/PULP_MANIFEST" },
    ];
    expect(problems("minikube", { pulp: { mirrors } })).to.deep.equal([
      'stx-build-cluster:services.pulp.mirrors[0].distributions: is required for a "deb" mirror (e.g. "bullseye")',
      'stx-build-cluster:services.pulp.mirrors[1].name: duplicate mirror "debian" (also at index 0)',
    ]);
    const typo = problems("minikube", { pulp: { mirrors: [{ ...mirrors[1], sufix: "x" }] } });
    expect(typo[0]).to.match(/^stx-build-cluster:services\.pulp\.mirrors\[0\]\.sufix: unknown setting/);
  });

  it("refuses Ingresses without TLS, naming the settings that give it, and accepts either one", () => {
    const plain = problems("minikube", { exposure: { kind: "ingress" } });
    expect(plain).to.have.length(1);
    expect(plain[0]).to.match(/^stx-build-cluster:services\.exposure\.clusterIssuer: .*carry credentials.*plain HTTP.*services\.exposure\.tlsSecret/);
    expect(problems("minikube", { exposure: { kind: "ingress", tlsSecret: "farm-tls" } })).to.deep.equal([]);
    expect(problems("minikube", { exposure: { kind: "ingress", clusterIssuer: "ca" } })).to.deep.equal([]);
    expect(problems("minikube", { exposure: { kind: "ingress", clusterIssuer: "ca", tlsSecret: "farm-tls" } })[0]).to.match(/tlsSecret: set either/);
    // NodePorts stay on the laptop's host-only network to minikube's VM.
    expect(problems("minikube", {})).to.deep.equal([]);
  });

  it("rejects an unpinned MinIO image override and a bad bucket name", () => {
    expect(problems("minikube", { objectStore: { image: "minio/minio:latest" } })[0]).to.equal(
      'stx-build-cluster:services.objectStore.image: must be pinned by a tag or digest (not "latest")',
    );
    expect(problems("minikube", { objectStore: { image: "minio/minio" } })[0]).to.match(/services\.objectStore\.image: must be pinned/);
    expect(problems("minikube", { objectStore: { image: "registry.example.org:5000/minio/minio" } })[0]).to.match(/must be pinned/);
    expect(problems("minikube", { objectStore: { image: "registry.example.org:5000/minio/minio:RELEASE.2025-10-15T17-29-55Z" } })).to.deep.equal([]);
    expect(problems("minikube", { objectStore: { image: `minio/minio@sha256:${"a".repeat(64)}` } })).to.deep.equal([]);
    expect(problems("minikube", { objectStore: { buckets: { artifacts: "Stx_Artifacts" } } })[0]).to.match(
      /^stx-build-cluster:services\.objectStore\.buckets\.artifacts: must be an S3 bucket name/,
    );
  });

  it("rejects several registry replicas on one volume and an unknown registry mode", () => {
    expect(problems("minikube", { registry: { replicas: 2 } })[0]).to.equal(
      'stx-build-cluster:services.registry.replicas: more than 1 replica needs services.registry.storage "s3"',
    );
    expect(problems("minikube", { registry: { mode: "harbor" } })[0]).to.match(/^stx-build-cluster:services\.registry\.mode: is "harbor"; it must be one of/);
  });
});

describe("object store advice for multi-node farms", () => {
  it("recommends external S3 where one MinIO node would stop every build, and says nothing on one node or with external S3", async () => {
    const { objectStoreAdvice } = await import("../../../src/settings/services");
    const minio = { objectStore: { mode: "minio" } } as any;
    expect(objectStoreAdvice(minio, 3)).to.match(/on 3 nodes: one MinIO pod .* set services\.objectStore\.mode "external"/);
    expect(objectStoreAdvice(minio, 1)).to.equal(undefined);
    expect(objectStoreAdvice({ objectStore: { mode: "external" } } as any, 3)).to.equal(undefined);
  });
});
