// A stand-in for pulumi-resource-kubernetes, used only by the cluster tests and the local `up` script.
//
// The real provider (github.com/pulumi/pulumi-kubernetes/provider/v4) is refused by the Go module
// proxy that this project can reach, at every version, and no prebuilt binary can be downloaded.
// This plugin speaks the same gRPC protocol to the real Pulumi engine and sends the objects that
// @pulumi/kubernetes declares to the real API server, so the engine's plans, the program's objects
// and the cluster's admission, RBAC and controllers are all real. It implements only what the
// program needs: typed resources (`kubernetes:<group>/<version>:<Kind>`) and `<Kind>Patch`
// resources, `.get` reads, `kubernetes:yaml:decode` (yaml.ConfigFile), the provider options
// kubeconfig and context, server-side apply, retrying a create while its namespace or CRD is
// missing, waiting for deletion, and the documented `pulumi.com/waitFor: jsonpath={...}[=value]`
// annotation. It has none of the real provider's built-in await logic (Deployments, Jobs, ...) and
// no Helm. Installed a second time as pulumi-resource-random, it is that provider (random.go).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	pbempty "google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/pkg/v3/resource/provider"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/yaml"
)

// Set with -ldflags to the npm packages' versions, which the engine asks for.
var version, randomVersion = "0.0.0", "0.0.0"

const fieldManager = "pulumi-kubernetes"

type kubeProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
	client dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func main() {
	// One binary, installed under both plugin names; the name it runs as picks the provider.
	var err error
	if strings.HasSuffix(os.Args[0], "pulumi-resource-random") {
		err = provider.Main("random", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
			return &randomProvider{}, nil
		})
	} else {
		err = provider.Main("kubernetes", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
			return &kubeProvider{}, nil
		})
	}
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

func (p *kubeProvider) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (p *kubeProvider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":"kubernetes","version":%q}`, version)}, nil
}

func (p *kubeProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *kubeProvider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return diffMaps(req.GetOldInputs(), req.GetNews(), nil)
}

func (p *kubeProvider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	setting := func(key string) string {
		if v, ok := args[resource.PropertyKey(key)]; ok {
			if v.IsSecret() {
				v = v.SecretValue().Element
			}
			if v.IsString() {
				return v.StringValue()
			}
		}
		return req.GetVariables()["kubernetes:config:"+key]
	}
	if err := p.connect(setting("kubeconfig"), setting("context")); err != nil {
		return nil, err
	}
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

// connect builds clients lazily: no request reaches the API server until a resource needs it.
func (p *kubeProvider) connect(kubeconfig, kubeContext string) error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	overrides := &clientcmd.ConfigOverrides{CurrentContext: kubeContext}
	var cc clientcmd.ClientConfig
	if strings.Contains(kubeconfig, "\n") || strings.HasPrefix(strings.TrimSpace(kubeconfig), "{") {
		raw, err := clientcmd.Load([]byte(kubeconfig))
		if err != nil {
			return fmt.Errorf("parsing kubeconfig: %w", err)
		}
		cc = clientcmd.NewNonInteractiveClientConfig(*raw, kubeContext, overrides, nil)
	} else {
		if kubeconfig != "" {
			rules.ExplicitPath = kubeconfig
		}
		cc = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	}
	rest, err := cc.ClientConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	rest.QPS, rest.Burst = 50, 100
	if p.client, err = dynamic.NewForConfig(rest); err != nil {
		return err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(rest)
	if err != nil {
		return err
	}
	p.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	return nil
}

// gvk turns a type token such as kubernetes:rbac.authorization.k8s.io/v1:RoleBinding into its GVK.
func gvk(token string) (schema.GroupVersionKind, error) {
	parts := strings.Split(token, ":")
	if len(parts) != 3 || parts[0] != "kubernetes" || !strings.Contains(parts[1], "/") {
		return schema.GroupVersionKind{}, fmt.Errorf("the stand-in kubernetes provider does not support %q", token)
	}
	gv, _ := schema.ParseGroupVersion(parts[1])
	if gv.Group == "core" {
		gv.Group = ""
	}
	return gv.WithKind(strings.TrimSuffix(parts[2], "Patch")), nil
}

// isPatch tells a <Kind>Patch resource: it owns some fields of an object that exists already.
func isPatch(urn string) bool { return strings.HasSuffix(resourceType(urn), "Patch") }

// manager is the server-side apply field manager; each patch has its own, so deleting it gives
// back exactly the fields it set.
func manager(urn string) string {
	if !isPatch(urn) {
		return fieldManager
	}
	m := "pulumi-patch-" + resource.URN(urn).Name()
	if len(m) > 128 {
		m = m[:128]
	}
	return m
}

// target resolves where an object lives: its REST resource, and the namespaced client for it.
func (p *kubeProvider) target(token, namespace string) (dynamic.ResourceInterface, error) {
	kind, err := gvk(token)
	if err != nil {
		return nil, err
	}
	mapping, err := p.mapper.RESTMapping(kind.GroupKind(), kind.Version)
	if meta.IsNoMatchError(err) {
		p.mapper.Reset() // a CRD may have been created since discovery ran
		mapping, err = p.mapper.RESTMapping(kind.GroupKind(), kind.Version)
	}
	if err != nil {
		return nil, err
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if namespace == "" {
			namespace = "default"
		}
		return p.client.Resource(mapping.Resource).Namespace(namespace), nil
	}
	return p.client.Resource(mapping.Resource), nil
}

func resourceType(urn string) string { return resource.URN(urn).Type().String() }

func (p *kubeProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	olds, _ := unmarshal(req.GetOlds())
	// Autonaming as the real provider does: keep a generated name once chosen.
	md, ok := news["metadata"]
	if !ok || md.IsNull() {
		md = resource.NewObjectProperty(resource.PropertyMap{})
	}
	// Unknown metadata (during a preview) is left alone: the name is decided once it is known.
	if md.IsObject() && !md.ObjectValue().HasValue("name") {
		name := resource.NewStringProperty(autoname(resource.URN(req.GetUrn()).Name()))
		if om := olds["metadata"]; om.IsObject() && om.ObjectValue()["name"].IsString() {
			name = om.ObjectValue()["name"]
		}
		md.ObjectValue()["name"] = name
		news["metadata"] = md
	}
	inputs, err := marshal(news)
	return &pulumirpc.CheckResponse{Inputs: inputs}, err
}

func autoname(base string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return base + "-" + hex.EncodeToString(b)
}

func (p *kubeProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return diffMaps(req.GetOldInputs(), req.GetNews(), []string{"apiVersion", "kind", "metadata.name", "metadata.namespace"})
}

// diffMaps compares inputs; a change under any replaceKeys prefix replaces the object.
func diffMaps(oldS, newS *structpb.Struct, replaceKeys []string) (*pulumirpc.DiffResponse, error) {
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
	for path, kind := range flatten("", d) {
		replace := false
		for _, k := range replaceKeys {
			replace = replace || path == k || strings.HasPrefix(k, path+".")
		}
		if replace {
			kind += 1 // ADD_REPLACE, DELETE_REPLACE, UPDATE_REPLACE follow their plain kinds
			resp.Replaces = append(resp.Replaces, path)
		}
		resp.Diffs = append(resp.Diffs, strings.SplitN(path, ".", 2)[0])
		resp.DetailedDiff[path] = &pulumirpc.PropertyDiff{Kind: kind}
	}
	// Kubernetes names are unique: the old object must go before its replacement is created.
	resp.DeleteBeforeReplace = len(resp.Replaces) > 0
	return resp, nil
}

func flatten(prefix string, d *resource.ObjectDiff) map[string]pulumirpc.PropertyDiff_Kind {
	out := map[string]pulumirpc.PropertyDiff_Kind{}
	key := func(k resource.PropertyKey) string { return strings.TrimPrefix(prefix+"."+string(k), ".") }
	for k := range d.Adds {
		out[key(k)] = pulumirpc.PropertyDiff_ADD
	}
	for k := range d.Deletes {
		out[key(k)] = pulumirpc.PropertyDiff_DELETE
	}
	for k, u := range d.Updates {
		if u.Object != nil && prefix == "" {
			for p, kind := range flatten(string(k), u.Object) {
				out[p] = kind
			}
			continue
		}
		out[key(k)] = pulumirpc.PropertyDiff_UPDATE
	}
	return out
}

// object strips Pulumi's wrappers (secrets) from inputs, giving the plain Kubernetes object.
func object(m resource.PropertyMap) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: m.MapRepl(nil, func(v resource.PropertyValue) (any, bool) {
		if v.IsSecret() {
			return v.SecretValue().Element.Mappable(), true
		}
		return nil, false
	})}
}

// outputs is the live object as Pulumi state; a Secret's payload stays secret.
func outputs(obj *unstructured.Unstructured) (*structpb.Struct, error) {
	m := resource.NewPropertyMapFromMap(obj.Object)
	if obj.GetKind() == "Secret" {
		for _, k := range []resource.PropertyKey{"data", "stringData"} {
			if v, ok := m[k]; ok {
				m[k] = resource.MakeSecret(v)
			}
		}
	}
	return marshal(m)
}

func id(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

func (p *kubeProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	news, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		return &pulumirpc.CreateResponse{Properties: req.GetProperties()}, nil
	}
	obj := object(news)
	var live *unstructured.Unstructured
	// Like the real provider, retry while the object's namespace or CRD does not exist yet: objects
	// of one manifest (yaml.ConfigFile) are created in parallel, in no particular order.
	for attempt := 0; ; attempt++ {
		var client dynamic.ResourceInterface
		client, err = p.target(resourceType(req.GetUrn()), obj.GetNamespace())
		if err == nil {
			// Like the real provider: refuse to adopt an object that already exists (a patch needs one).
			if _, getErr := client.Get(ctx, obj.GetName(), metav1.GetOptions{}); getErr == nil && !isPatch(req.GetUrn()) {
				return nil, fmt.Errorf("%s %q already exists", obj.GetKind(), id(obj))
			}
			live, err = p.apply(ctx, client, obj, manager(req.GetUrn()))
		}
		if err == nil || attempt >= 60 || !(apierrors.IsNotFound(err) || meta.IsNoMatchError(err)) {
			break
		}
		p.mapper.Reset()
		time.Sleep(time.Second)
	}
	if err != nil {
		return nil, err
	}
	props, err := outputs(live)
	return &pulumirpc.CreateResponse{Id: id(live), Properties: props}, err
}

// apply sends the object with server-side apply, then waits for its pulumi.com/waitFor condition.
func (p *kubeProvider) apply(ctx context.Context, client dynamic.ResourceInterface, obj *unstructured.Unstructured, manager string) (*unstructured.Unstructured, error) {
	obj.SetKind(strings.TrimSuffix(obj.GetKind(), "Patch"))
	live, err := client.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: manager, Force: true})
	if err != nil {
		return nil, err
	}
	waitFor := obj.GetAnnotations()["pulumi.com/waitFor"]
	if waitFor == "" {
		return live, nil
	}
	expr, want, hasWant := strings.Cut(strings.TrimPrefix(waitFor, "jsonpath="), "}=")
	if hasWant {
		expr += "}"
	}
	jp := jsonpath.New("waitFor").AllowMissingKeys(true)
	if err := jp.Parse(expr); err != nil {
		return nil, fmt.Errorf("pulumi.com/waitFor %q: %w", waitFor, err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var got strings.Builder
		if err := jp.Execute(&got, live.Object); err == nil && got.Len() > 0 && (!hasWant || got.String() == want) {
			return live, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("timed out waiting for %s on %s", waitFor, id(live))
		}
		time.Sleep(500 * time.Millisecond)
		if live, err = client.Get(ctx, obj.GetName(), metav1.GetOptions{}); err != nil {
			return nil, err
		}
	}
}

func splitID(id string) (namespace, name string) {
	if ns, n, ok := strings.Cut(id, "/"); ok {
		return ns, n
	}
	return "", id
}

func (p *kubeProvider) Read(ctx context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	ns, name := splitID(req.GetId())
	client, err := p.target(resourceType(req.GetUrn()), ns)
	if err != nil {
		return nil, err
	}
	live, err := client.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &pulumirpc.ReadResponse{}, nil // gone: the engine drops it from state
	}
	if err != nil {
		return nil, err
	}
	props, err := outputs(live)
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: props, Inputs: req.GetInputs()}, err
}

func (p *kubeProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		return &pulumirpc.UpdateResponse{Properties: req.GetNews()}, nil
	}
	obj := object(news)
	client, err := p.target(resourceType(req.GetUrn()), obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	live, err := p.apply(ctx, client, obj, manager(req.GetUrn()))
	if err != nil {
		return nil, err
	}
	props, err := outputs(live)
	return &pulumirpc.UpdateResponse{Properties: props}, err
}

// Delete removes the object and waits until it is gone (a Namespace first empties itself).
func (p *kubeProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*pbempty.Empty, error) {
	ns, name := splitID(req.GetId())
	client, err := p.target(resourceType(req.GetUrn()), ns)
	if err != nil {
		return nil, err
	}
	if isPatch(req.GetUrn()) {
		// Give the patched fields back: apply nothing under the patch's own field manager.
		kind, _ := gvk(resourceType(req.GetUrn()))
		empty := &unstructured.Unstructured{}
		empty.SetGroupVersionKind(kind)
		empty.SetName(name)
		empty.SetNamespace(ns)
		if _, err := client.Apply(ctx, name, empty, metav1.ApplyOptions{FieldManager: manager(req.GetUrn()), Force: true}); err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
		return &pbempty.Empty{}, nil
	}
	policy := metav1.DeletePropagationForeground
	err = client.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy})
	deadline := time.Now().Add(10 * time.Minute)
	for err == nil {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("timed out waiting for %s to be deleted", req.GetId())
		}
		time.Sleep(500 * time.Millisecond)
		_, err = client.Get(ctx, name, metav1.GetOptions{})
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	return &pbempty.Empty{}, nil
}

// Invoke serves kubernetes:yaml:decode, which yaml.ConfigFile uses to parse manifests.
func (p *kubeProvider) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	if req.GetTok() != "kubernetes:yaml:decode" {
		return nil, fmt.Errorf("the stand-in kubernetes provider does not support function %q", req.GetTok())
	}
	text := req.GetArgs().GetFields()["text"].GetStringValue()
	var objects []any
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(text, -1) {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, err
		}
		if len(obj) > 0 {
			objects = append(objects, obj)
		}
	}
	ret, err := marshal(resource.PropertyMap{"result": resource.NewPropertyValue(objects)})
	return &pulumirpc.InvokeResponse{Return: ret}, err
}

func (p *kubeProvider) Cancel(context.Context, *pbempty.Empty) (*pbempty.Empty, error) {
	return &pbempty.Empty{}, nil
}
