package main

// RandomPassword, RandomString and RandomBytes (see main.go). Values come from crypto/rand, are
// generated once at create and kept in state, and are secrets.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"

	pbempty "google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/bcrypt"
)

type randomProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func (p *randomProvider) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (p *randomProvider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":"random","version":%q}`, version)}, nil
}

func (p *randomProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *randomProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *randomProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *randomProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// Any input change makes a new value, as upstream does (every input of these resources forces replacement).
func (p *randomProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	resp, err := diffMaps(req.GetOldInputs(), req.GetNews())
	if err == nil && resp.Changes == pulumirpc.DiffResponse_DIFF_SOME {
		resp.Replaces = resp.Diffs
	}
	return resp, err
}

func (p *randomProvider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	in, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	out := in.Copy()
	num := func(k string, def float64) int {
		if v := in[resource.PropertyKey(k)]; v.IsNumber() {
			return int(v.NumberValue())
		}
		return int(def)
	}
	flag := func(k string) bool { v := in[resource.PropertyKey(k)]; return !v.IsBool() || v.BoolValue() }
	if req.GetPreview() {
		props, err := marshal(out) // results stay unknown in a preview
		return &pulumirpc.CreateResponse{Properties: props}, err
	}
	switch resource.URN(req.GetUrn()).Type() {
	case "random:index/randomBytes:RandomBytes":
		b := make([]byte, num("length", 32))
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		out["base64"] = resource.MakeSecret(resource.NewStringProperty(base64.StdEncoding.EncodeToString(b)))
		out["hex"] = resource.MakeSecret(resource.NewStringProperty(hex.EncodeToString(b)))
	case "random:index/randomPassword:RandomPassword", "random:index/randomString:RandomString":
		chars := ""
		for _, set := range []struct {
			on bool
			s  string
		}{
			{flag("lower"), "abcdefghijklmnopqrstuvwxyz"}, {flag("upper"), "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
			{flag("numeric"), "0123456789"}, {flag("special"), "!@#$%&*()-_=+[]{}<>:?"},
		} {
			if set.on {
				chars += set.s
			}
		}
		if v := in["overrideSpecial"]; v.IsString() && flag("special") {
			chars += v.StringValue()
		}
		value := make([]byte, num("length", 16))
		for i := range value {
			n, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
			if err != nil {
				return nil, err
			}
			value[i] = chars[n.Int64()]
		}
		out["result"] = resource.MakeSecret(resource.NewStringProperty(string(value)))
		if hash, err := bcrypt.GenerateFromPassword(value, bcrypt.DefaultCost); err == nil {
			out["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty(string(hash)))
		}
	default:
		return nil, fmt.Errorf("the stand-in random provider does not support %s", resource.URN(req.GetUrn()).Type())
	}
	props, err := marshal(out)
	return &pulumirpc.CreateResponse{Id: "none", Properties: props}, err
}

func (p *randomProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (p *randomProvider) Delete(context.Context, *pulumirpc.DeleteRequest) (*pbempty.Empty, error) {
	return &pbempty.Empty{}, nil
}

func (p *randomProvider) Cancel(context.Context, *pbempty.Empty) (*pbempty.Empty, error) {
	return &pbempty.Empty{}, nil
}
