package main

// RunPlugin: what `pulumi preview --policy-pack <dir>` needs of the language host for a Node.js policy
// pack (kind "analyzer"), and plugins written in Node.js. It follows the real host
// (sdk/nodejs/cmd/pulumi-language-nodejs, RunPlugin in pulumi v3.248.0): the module run is
// @pulumi/pulumi/cmd/run-policy-pack for an analyzer (else PULUMI_LANGUAGE_NODEJS_RUN_PATH or
// @pulumi/pulumi/cmd/run-plugin), resolved from the plugin's directory; an analyzer gets the
// engine's arguments first and its directory last (any other plugin: directory first), runs in its
// own directory, and is started behind the SDK's PolicyProxy, which answers the engine's Handshake
// and ConfigureStack itself and hands the stack (organization, project, stack, dry-run, config) to
// the pack as PULUMI_NODEJS_* and PULUMI_CONFIG. Output is streamed back as RunPluginResponse
// messages. Not covered: attaching a debugger, bun.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	node, err := exec.LookPath("node")
	if err != nil {
		return err
	}
	opts, err := parseOptions(req.GetInfo())
	if err != nil {
		return err
	}
	env := req.GetEnv()
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	analyzer := req.GetKind() == string(apitype.AnalyzerPlugin)
	dir := req.GetInfo().GetProgramDirectory()
	runPath := "@pulumi/pulumi/cmd/run-policy-pack"
	if !analyzer {
		runPath = os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
		if runPath == "" {
			runPath = "@pulumi/pulumi/cmd/run-plugin"
		}
	}
	locate := exec.CommandContext(ctx, node, "-e", fmt.Sprintf("console.log(require.resolve(%q))", runPath))
	locate.Dir = dir
	located, err := locate.Output()
	if err != nil {
		return fmt.Errorf("could not find %s from %s: is the Pulumi SDK installed (npm ci)? %w", runPath, dir, err)
	}

	args := []string{strings.TrimSpace(string(located))}
	args = append(args, opts.nodeargs...)
	if analyzer {
		args = append(append(args, req.GetArgs()...), dir)
	} else {
		args = append(append(args, dir), req.GetArgs()...)
	}

	var proxy *sdk.PolicyProxy
	if analyzer {
		// The engine talks to the proxy (whose port goes to stdout); the pack starts once the proxy has
		// the stack's configuration, which the pack reads from its environment.
		proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("could not start policy pack proxy: %w", err)
		}
		config, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get stack configuration: %w", err)
		}
		if env, err = withStackEnv(env, config); err != nil {
			return err
		}
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = req.GetPwd()
	if analyzer {
		cmd.Dir = dir
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("Problem executing plugin program (could not run language executor): %w", err)
	}
	if proxy != nil {
		if err := proxy.Attach(ctx, cmd); err != nil {
			return fmt.Errorf("could not attach policy pack proxy: %w", err)
		}
	} else if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("Program exited with non-zero exit code: %d", exit.ExitCode())
		}
		return err
	}
	return closer.Close()
}

// withStackEnv adds what a policy pack reads about the stack, as the real host does.
func withStackEnv(env []string, config *pulumirpc.AnalyzerStackConfigureRequest) ([]string, error) {
	if config == nil {
		return env, nil
	}
	add := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	add("PULUMI_NODEJS_ORGANIZATION", config.GetOrganization())
	add("PULUMI_NODEJS_PROJECT", config.GetProject())
	add("PULUMI_NODEJS_STACK", config.GetStack())
	add("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(config.GetDryRun()))
	if config.GetConfig() != nil {
		b, err := json.Marshal(config.GetConfig())
		if err != nil {
			return nil, fmt.Errorf("could not marshal stack configuration: %w", err)
		}
		add("PULUMI_CONFIG", string(b))
	}
	return env, nil
}
