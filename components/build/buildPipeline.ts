import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { standardLabels } from "../../src/labels";
import { buildPipelineObjects, ImageRefs, PIPELINE_NAME } from "../../src/build/definition";
import { FarmDefaults } from "../../src/build/params";
import { ImageBuildMode } from "../../src/settings/build";
import { inheritedDependencies } from "../dependencies";

export interface BuildPipelineArgs {
  /** The shared namespace; every build namespace resolves the Pipeline from here. */
  readonly namespace: string;
  readonly defaults: FarmDefaults;
  readonly images: ImageRefs;
  readonly imageBuilds: ImageBuildMode;
  /** Tekton's webhook: Tasks and Pipelines are validated by it, so they wait for it. */
  readonly tektonReady: pulumi.Input<pulumi.Resource>[];
}

/** The shared StarlingX build: its Tasks and the Pipeline, created once Tekton's webhook serves. */
export class BuildPipeline extends pulumi.ComponentResource {
  public readonly pipelineName: pulumi.Output<string>;

  constructor(name: string, args: BuildPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:build:BuildPipeline", name, {}, opts);
    const afterTekton = { parent: this, dependsOn: [...inheritedDependencies(opts), ...args.tektonReady] };
    const { tasks, pipeline } = buildPipelineObjects({ ...args, labels: standardLabels("build-pipeline") });

    const taskResources = tasks.map(
      (task) => new k8s.apiextensions.CustomResource(`${name}-${(task.metadata as { name: string }).name}`, task as any, afterTekton),
    );
    const created = new k8s.apiextensions.CustomResource(`${name}-${PIPELINE_NAME}`, pipeline as any, {
      parent: this,
      dependsOn: [...afterTekton.dependsOn, ...taskResources],
    });

    this.pipelineName = created.metadata.name;
    this.registerOutputs({ pipelineName: this.pipelineName });
  }
}
