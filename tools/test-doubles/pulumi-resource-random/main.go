// TEST DOUBLE of pulumi-resource-random, for the cluster tests and the local `up` script only.
//
// The official plugin (github.com/pulumi/pulumi-random/provider/v4) is refused by the Go module
// proxy this project can reach, at every version, and no prebuilt binary can be downloaded here.
// With internet access the official plugin is used instead: `pulumi up` installs it from the
// version of @pulumi/random in package.json, and this double is not needed.
//
// What it covers: the resources the program declares (RandomPassword, RandomString, RandomBytes)
// with the outputs the program reads (`result`, `bcryptHash`, `base64`, `hex`), generated once at
// create, kept in state, marked secret; any input change replaces the value, as upstream. Not
// covered: keepers, the other resources of the real provider (RandomPet, RandomId, ...), imports.
package main

import (
	"fmt"
	"os"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/pkg/v3/resource/provider"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Set with -ldflags to the version of @pulumi/random, which the engine asks for.
var version = "0.0.0"

func main() {
	err := provider.Main("random", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &randomProvider{}, nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

var opts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, opts)
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, opts)
}

// diffMaps compares inputs property by property.
func diffMaps(oldS, newS *structpb.Struct) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(oldS)
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(newS)
	if err != nil {
		return nil, err
	}
	d := olds.Diff(news)
	if d == nil || !d.AnyChanges() {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, HasDetailedDiff: true,
		DetailedDiff: map[string]*pulumirpc.PropertyDiff{}}
	for _, k := range d.Keys() {
		kind := pulumirpc.PropertyDiff_UPDATE
		if d.Added(k) {
			kind = pulumirpc.PropertyDiff_ADD
		} else if d.Deleted(k) {
			kind = pulumirpc.PropertyDiff_DELETE
		}
		resp.Diffs = append(resp.Diffs, string(k))
		resp.DetailedDiff[string(k)] = &pulumirpc.PropertyDiff{Kind: kind}
	}
	return resp, nil
}

