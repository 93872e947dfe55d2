/**
 * Runs the real Pulumi program (src/index.ts) under Pulumi's mocks for a stack file, and returns
 * every resource it declared with its inputs, plus the stack outputs. Nothing talks to a cluster.
 * Used by the unit tests and by the benchmark (bench/), so it lives in tools/, which never imports test/.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { CONFIG_NAMESPACE } from "../src/settings/schema";
import { stackFileConfig } from "./stackFile";
import { sha256 } from "../src/build/manifests";
import { MANIFEST_NAMES } from "../src/versions";
import { REPO_ROOT } from "./pulumiCli";

export interface DeclaredResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
  readonly custom: boolean;
  /** Provider reference ("urn::id") for custom resources. */
  readonly provider?: string;
  /** Set for resources read with `.get()` rather than declared. */
  readonly id?: string;
  /** Options that matter for data safety and ordering, as the program passed them. */
  readonly options: DeclaredOptions;
}

export interface DeclaredOptions {
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  /** Logical names of the resources it explicitly depends on. */
  readonly dependsOn: string[];
  /** Logical name of its parent. */
  readonly parent?: string;
}

export interface ProgramRun {
  readonly resources: DeclaredResource[];
  readonly outputs: Record<string, unknown>;
  /** Names of the stack outputs that are secret. */
  readonly secretOutputs: string[];
  /** The resources of one type, e.g. "kubernetes:core/v1:Namespace". */
  ofType(type: string): DeclaredResource[];
  /** Kubernetes objects of a kind in a namespace (or cluster-scoped when namespace is undefined). */
  objects(type: string, namespace?: string): DeclaredResource[];
  /** The single Kubernetes object of `type` with metadata.name `name` (in `namespace`); fails when absent. */
  object(type: string, name: string, namespace?: string): DeclaredResource;
}

const PROGRAM_ROOTS = ["src", "components"].map((dir) => path.join(REPO_ROOT, "bin", dir));

export { REPO_ROOT, stackFileConfig };

/** Runs the program with `config` (keys without namespace) as stack `stack`. */
export async function runProgram(
  stack: string,
  givenConfig: Record<string, unknown>,
  declared: Omit<DeclaredResource, "options">[] = [],
): Promise<ProgramRun> {
  const config = withTektonFixtures(givenConfig);
  const options = new Map<string, pulumi.ResourceOptions>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state = { ...args.inputs, ...mockState(args.type, args.name, args.inputs, args.id || undefined) };
        declared.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          custom: args.custom ?? true,
          provider: args.provider,
          id: args.id || undefined,
        });
        return { id: args.id || kubernetesId(args.type, args.inputs) || `${args.name}-id`, state };
      },
      call(args) {
        // k8s.yaml.ConfigFile asks the provider to decode its manifest; do what the provider does.
        if (args.token === "kubernetes:yaml:decode") return { result: yaml.loadAll(args.inputs.text).filter((o) => o) };
        return args.inputs;
      },
    },
    CONFIG_NAMESPACE,
    stack,
    false,
  );
  pulumi.runtime.setAllConfig(
    Object.fromEntries(
      Object.entries(config).map(([key, value]) => [
        `${CONFIG_NAMESPACE}:${key}`,
        typeof value === "string" ? value : JSON.stringify(value),
      ]),
    ),
  );
  forgetProgramModules();
  let programModule: Record<string, unknown> = {};
  // Inside a stack resource, as under `pulumi up`, so stack transformations can see every option.
  const exported = await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      options.set(`${args.type}::${args.name}`, args.opts);
      return undefined;
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    programModule = require(path.join(REPO_ROOT, "bin", "src", "index.js")) as Record<string, unknown>;
    return programModule;
  });
  const outputs = await resolveOutputs(exported ?? {});
  // The stack hands back plain values; secrecy is only visible on the module's own Outputs.
  const secretOutputs = await secretOutputNames(programModule);
  await pulumi.runtime.disconnect();
  const resources = await Promise.all(
    declared.map(async (r) => ({ ...r, options: await declaredOptions(options.get(`${r.type}::${r.name}`) ?? {}) })),
  );
  return withQueries(resources, outputs, secretOutputs);
}

/** Runs the program expecting it to fail; returns the error and what had been declared by then. */
export async function runProgramFailure(
  stack: string,
  config: Record<string, unknown>,
): Promise<{ error: Error; declared: Omit<DeclaredResource, "options">[] }> {
  const declared: Omit<DeclaredResource, "options">[] = [];
  try {
    const run = await runProgram(stack, config, declared);
    throw new Error(`expected the program to fail, but it declared ${run.resources.length} resources`);
  } catch (error) {
    return { error: error as Error, declared };
  }
}

/** Runs the program for a stack file, optionally with settings changed on top. */
export function runStack(stack: string, overrides: Record<string, unknown> = {}): Promise<ProgramRun> {
  return runProgram(stack, { ...stackFileConfig(stack), ...overrides });
}

/** The tests cannot reach the internet: Tekton's release manifests come from small local fixtures. */
export const TEKTON_FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "tekton");

/** The fixtures' SHA-256, pinned as a site pins its own copies (build.tekton.manifestSha256). */
export function fixtureChecksums(dir = TEKTON_FIXTURES): Record<string, string> {
  return Object.fromEntries(MANIFEST_NAMES.map((name) => [name, sha256(fs.readFileSync(path.join(dir, `${name}.yaml`)))]));
}

/** Points Tekton's manifests at the fixtures (with their checksums) unless a test chose a directory itself. */
function withTektonFixtures(config: Record<string, unknown>): Record<string, unknown> {
  const build = (config.build ?? {}) as { tekton?: { manifestDir?: string } };
  if (build.tekton?.manifestDir !== undefined) return config;
  return { ...config, build: { ...build, tekton: { manifestSha256: fixtureChecksums(), ...(build.tekton ?? {}), manifestDir: TEKTON_FIXTURES } } };
}

async function declaredOptions(opts: pulumi.CustomResourceOptions | pulumi.ComponentResourceOptions): Promise<DeclaredOptions> {
  return {
    protect: opts.protect === true,
    retainOnDelete: (opts as pulumi.CustomResourceOptions).retainOnDelete === true,
    dependsOn: (await dependencies(opts.dependsOn)).map(logicalName),
    parent: opts.parent ? logicalName(opts.parent) : undefined,
  };
}

/** dependsOn may hold Outputs of resources (e.g. ConfigFile.getResource); resolve them. */
async function dependencies(value: unknown): Promise<pulumi.Resource[]> {
  const resolved = pulumi.Output.isInstance(value) ? await settle(value) : await value;
  if (Array.isArray(resolved)) return (await Promise.all(resolved.map(dependencies))).flat();
  return pulumi.Resource.isInstance(resolved) ? [resolved] : [];
}

/** A resource's logical name, read from its URN the way the engine would write it. */
function logicalName(resource: pulumi.Resource): string {
  return (resource as unknown as { __name?: string }).__name ?? "";
}

/** What the mocked engine reports back for resources whose state the program reads. */
function mockState(type: string, name: string, inputs: Record<string, any>, id?: string): Record<string, unknown> {
  const encode = (text: string) => Buffer.from(text).toString("base64");
  if (type === "kubernetes:core/v1:Secret" && id !== undefined) {
    return { data: { token: encode(`token-of-${id}`), "ca.crt": encode("test-ca") } };
  }
  // The provider waits for the token controller (pulumi.com/waitFor) and returns the filled Secret.
  if (type === "kubernetes:core/v1:Secret" && inputs.type === "kubernetes.io/service-account-token") {
    const { namespace, name: secretName } = inputs.metadata;
    return { ...inputs, data: { token: encode(`token-of-${namespace}/${secretName}`), "ca.crt": encode("test-ca") } };
  }
  if (type.startsWith("random:")) {
    // Stand-ins shaped like the provider's outputs: a bcrypt hash (htpasswd) and base64 (keys).
    return { result: `random-${name}`, bcryptHash: `$2a$10$${"x".repeat(53)}`, base64: Buffer.from(`random-${name}`).toString("base64"), ...inputs };
  }
  if (inputs.metadata && inputs.metadata.name === undefined) {
    return { metadata: { ...inputs.metadata, name: `${name}-generated` } };
  }
  return {};
}

/** The program is a module; a fresh run must evaluate it again. */
function forgetProgramModules(): void {
  for (const key of Object.keys(require.cache)) {
    if (PROGRAM_ROOTS.some((root) => key.startsWith(root))) delete require.cache[key];
  }
}

async function resolveOutputs(program: Record<string, unknown>): Promise<Record<string, unknown>> {
  const entries = await Promise.all(
    Object.entries(program).map(async ([key, value]) => [key, await settle(value)] as const),
  );
  return Object.fromEntries(entries);
}

async function secretOutputNames(program: Record<string, unknown>): Promise<string[]> {
  const flags = await Promise.all(
    Object.entries(program).map(async ([key, value]) =>
      pulumi.Output.isInstance(value) && (await pulumi.isSecret(value as pulumi.Output<unknown>)) ? key : undefined,
    ),
  );
  return flags.filter((key): key is string => key !== undefined);
}

function settle(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    return new Promise((resolve) => (value as pulumi.Output<unknown>).apply((v) => resolve(v)));
  }
  return Promise.resolve(value);
}

function withQueries(resources: DeclaredResource[], outputs: Record<string, unknown>, secretOutputs: string[]): ProgramRun {
  const ofType = (type: string) => resources.filter((r) => r.type === type && r.id === undefined);
  const objects = (type: string, namespace?: string) =>
    ofType(type).filter((r) => r.inputs.metadata?.namespace === namespace);
  return {
    resources,
    outputs,
    secretOutputs,
    ofType,
    objects,
    object(type, name, namespace) {
      const found = objects(type, namespace).filter((r) => r.inputs.metadata?.name === name);
      if (found.length !== 1) {
        throw new Error(`expected one ${type} "${name}" in ${namespace ?? "the cluster scope"}, found ${found.length}`);
      }
      return found[0];
    },
  };
}

/** The id the Kubernetes provider gives an object: "namespace/name", or "name" when cluster-scoped. */
function kubernetesId(type: string, inputs: Record<string, unknown>): string | undefined {
  const metadata = inputs.metadata as { name?: string; namespace?: string } | undefined;
  if (!type.startsWith("kubernetes:") || !metadata?.name) return undefined;
  return metadata.namespace ? `${metadata.namespace}/${metadata.name}` : metadata.name;
}
