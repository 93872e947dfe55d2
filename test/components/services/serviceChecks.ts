/** Assertions every shared-service workload must pass (Pod Security "restricted", pinned images, resources). */
import { expect } from "chai";
import { DeclaredResource, ProgramRun } from "../../../tools/mockedProgram";

export const SHARED = "stx-system";
export const WORKLOAD_TYPES = ["kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job"];

/** The pod spec of a Deployment or Job. */
export function podSpec(resource: DeclaredResource): any {
  return resource.inputs.spec.template.spec;
}

export function workloads(run: ProgramRun, component: string): DeclaredResource[] {
  return WORKLOAD_TYPES.flatMap((type) => run.objects(type, SHARED)).filter(
    (r) => r.inputs.metadata.labels?.["app.kubernetes.io/component"] === component,
  );
}

/** Checks the rules of Pod Security "restricted" that a pod spec controls. */
export function expectRestricted(resource: DeclaredResource): void {
  const spec = podSpec(resource);
  const what = resource.inputs.metadata.name;
  expect(spec.securityContext.runAsNonRoot, what).to.equal(true);
  expect(spec.securityContext.runAsUser, what).to.be.greaterThan(0);
  expect(spec.securityContext.seccompProfile, what).to.deep.equal({ type: "RuntimeDefault" });
  expect(spec.hostNetwork ?? false, what).to.equal(false);
  for (const volume of spec.volumes ?? []) expect(volume.hostPath, `${what} volume ${volume.name}`).to.equal(undefined);
  for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
    const sc = container.securityContext;
    expect(sc.allowPrivilegeEscalation, `${what}/${container.name}`).to.equal(false);
    expect(sc.capabilities.drop, `${what}/${container.name}`).to.deep.equal(["ALL"]);
    expect(sc.privileged ?? false).to.equal(false);
  }
}

/** A tag or digest, never "latest" or a moving name like "stable". */
export function expectPinned(image: string): void {
  const last = image.split("/").pop() ?? "";
  expect(last, image).to.match(/[:@]/);
  expect(image, image).not.to.match(/:(latest|stable|nightly|edge)$/);
}

export function expectResources(resource: DeclaredResource): void {
  for (const container of podSpec(resource).containers) {
    const what = `${resource.inputs.metadata.name}/${container.name}`;
    for (const kind of ["requests", "limits"]) {
      expect(container.resources?.[kind], `${what} ${kind}`).to.include.all.keys("cpu", "memory");
    }
    expectPinned(container.image);
  }
}

/** Long-running servers need both probes; Jobs need none. */
export function expectProbes(resource: DeclaredResource): void {
  for (const container of podSpec(resource).containers) {
    const what = `${resource.inputs.metadata.name}/${container.name}`;
    expect(container.readinessProbe, `${what} readinessProbe`).to.be.an("object");
    expect(container.livenessProbe, `${what} livenessProbe`).to.be.an("object");
  }
}

/** No Secret-looking value in a ConfigMap or an env value: credentials travel only in Secrets. */
export function expectNoPlainCredentials(run: ProgramRun, secrets: readonly string[]): void {
  const plain = [
    ...run.objects("kubernetes:core/v1:ConfigMap", SHARED).map((c) => JSON.stringify(c.inputs.data)),
    ...WORKLOAD_TYPES.flatMap((t) => run.objects(t, SHARED)).map((w) => JSON.stringify(podSpec(w))),
  ].join("\n");
  for (const secret of secrets) expect(plain).not.to.contain(secret);
}

/** Pulumi's marker for a secret value as the mocks see it. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** The value of a secret input; fails if the program passed it in plain text. */
export function secretValue(input: any): any {
  expect(input, "a secret value").to.be.an("object");
  expect(input[SECRET_SIG], "marked secret").to.equal("1b47061264138c4ac30d75fd1eb44270");
  return input.value;
}
