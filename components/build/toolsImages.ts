import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { standardLabels } from "../../src/labels";
import { toolsImagesTask, ToolsImagesTaskArgs } from "../../src/build/toolsImages";
import { inheritedDependencies } from "../dependencies";

export type ToolsImageBuildArgs = Omit<ToolsImagesTaskArgs, "labels">;

/**
 * The Task that builds StarlingX's build containers with kaniko (src/build/toolsImages.ts), in the
 * shared namespace beside the build's Tasks; a build namespace runs it (docs/build.md).
 */
export class ToolsImageBuild extends pulumi.ComponentResource {
  public readonly taskName: pulumi.Output<string>;

  constructor(name: string, args: ToolsImageBuildArgs & { tektonReady: pulumi.Input<pulumi.Resource>[] }, opts?: pulumi.ComponentResourceOptions) {
    super("stx:build:ToolsImageBuild", name, {}, opts);
    const { tektonReady, ...taskArgs } = args;
    // Tekton's webhook validates Tasks: it must serve first.
    const task = new k8s.apiextensions.CustomResource(`${name}-task`, toolsImagesTask({ ...taskArgs, labels: standardLabels("tools-images") }) as any, {
      parent: this,
      dependsOn: [...inheritedDependencies(opts), ...tektonReady],
    });
    this.taskName = task.metadata.name;
    this.registerOutputs({ taskName: this.taskName });
  }
}
