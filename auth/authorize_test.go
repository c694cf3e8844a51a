package auth

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/keys"
)

// world is a fixed tenancy for the authorization tables:
//
//	account A: workspace W1 (BYOC c1, BYOC schema registry c1sr,
//	                         serverless s1, deleted BYOC cdel)
//	           workspace W2 (BYOC c2)
//	account B: workspace W3 (BYOC c3)
//
// with keys: account keys accA, accB; application keys app1, app2, app3 (of
// W1, W2, W3); agent keys agentC1, agentC2, agentC3 (each cluster's own)
// and anyW1, anyW3 (granted "*").
type world struct {
	*testEnv
	targets  map[string]Target
	clusters map[string]keys.ClusterID
	keys     map[string]IssuedKey
}

func newWorld(t *testing.T) *world {
	v := newEngine(t)
	w := &world{testEnv: v, targets: map[string]Target{}, clusters: map[string]keys.ClusterID{}, keys: map[string]IssuedKey{}}
	a, b := v.account("A"), v.account("B")
	w1, w2, w3 := v.workspace(a.ID, "W1"), v.workspace(a.ID, "W2"), v.workspace(b.ID, "W3")
	for _, c := range []struct {
		name  string
		ws    keys.WorkspaceID
		typ   cluster.Type
		agent string // the name of its own agent key
	}{
		{"c1", w1.ID, cluster.BYOC, "agentC1"},
		{"c1sr", w1.ID, cluster.BYOCSchemaRegistry, ""},
		{"s1", w1.ID, cluster.Serverless, ""},
		{"cdel", w1.ID, cluster.BYOC, ""},
		{"c2", w2.ID, cluster.BYOC, "agentC2"},
		{"c3", w3.ID, cluster.BYOC, "agentC3"},
	} {
		created := v.cluster(c.ws, c.name, c.typ)
		w.clusters[c.name] = created.Cluster.ID
		if c.agent != "" {
			w.keys[c.agent] = *created.AgentKey
		}
	}
	if err := v.e.DeleteCluster(v.ctx, w.clusters["cdel"]); err != nil {
		t.Fatal(err)
	}
	w.keys["accA"] = v.accountKey(a.ID)
	w.keys["accB"] = v.accountKey(b.ID)
	w.keys["app1"] = v.appKey(w1.ID)
	w.keys["app2"] = v.appKey(w2.ID)
	w.keys["app3"] = v.appKey(w3.ID)
	w.keys["anyW1"] = v.anyAgentKey(w1.ID)
	w.keys["anyW3"] = v.anyAgentKey(w3.ID)

	unknownA, _ := keys.NewAccountID()
	unknownW, _ := keys.NewWorkspaceID()
	unknownC, _ := keys.NewClusterID()
	w.clusters["cunknown"] = unknownC
	w.clusters["czero"] = keys.ClusterID{}
	w.targets["A"] = Target{Account: a.ID}
	w.targets["B"] = Target{Account: b.ID}
	w.targets["Aunknown"] = Target{Account: unknownA}
	w.targets["W1"] = Target{Workspace: w1.ID}
	w.targets["W2"] = Target{Workspace: w2.ID}
	w.targets["W3"] = Target{Workspace: w3.ID}
	w.targets["Wunknown"] = Target{Workspace: unknownW}
	for _, c := range []string{"c1", "c1sr", "s1", "cdel", "c2", "c3", "cunknown"} {
		w.targets[c] = Target{Cluster: w.clusters[c]}
	}
	return w
}

func (w *world) principal(name string) Principal {
	w.t.Helper()
	k, ok := w.keys[name]
	if !ok {
		w.t.Fatalf("no key %q", name)
	}
	return w.authn(k)
}

func sortedNames[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// checkMatrix checks every key of the world against every target: the
// authorization call on the key's principal and the authenticate-and-
// authorize call on its secret both allow exactly the targets allowed lists
// for the key, and refuse every other with ErrPermissionDenied.
func checkMatrix[T any](t *testing.T, w *world, authzName, authnName string, allowed map[string][]string, targets map[string]T,
	authorize func(Principal, T) error, authenticate func(secret string, target T) (Principal, error)) {
	t.Helper()
	if len(allowed) != len(w.keys) {
		t.Fatalf("table covers %d keys, world has %d", len(allowed), len(w.keys))
	}
	for _, kn := range sortedNames(w.keys) {
		p := w.principal(kn)
		secret := w.keys[kn].Secret.Reveal()
		for _, tn := range sortedNames(targets) {
			var want error = ErrPermissionDenied
			wantP := Principal{}
			if slices.Contains(allowed[kn], tn) {
				want, wantP = nil, p
			}
			args := fmt.Sprintf("(%s, %s)", kn, tn)
			wantErr(t, authzName+args, authorize(p, targets[tn]), want)
			got, err := authenticate(secret, targets[tn])
			wantErr(t, authnName+args, err, want)
			diff(t, authnName+args+" principal", wantP, got)
		}
	}
}

// TestAuthorize checks rules 4 and 5 on the public API: for each key, the
// targets it may act on; every other target is ErrPermissionDenied.
func TestAuthorize(t *testing.T) {
	w := newWorld(t)
	allowed := map[string][]string{
		// Rule 4: an account key acts at account level and on every
		// workspace and cluster of its own account, never another's.
		"accA": {"A", "W1", "W2", "c1", "c1sr", "s1", "c2"},
		"accB": {"B", "W3", "c3"},
		// Rule 4: an application key acts on its own workspace and its
		// clusters; never at account level, not even its own account.
		"app1": {"W1", "c1", "c1sr", "s1"},
		"app2": {"W2", "c2"},
		"app3": {"W3", "c3"},
		// Rule 5: agent keys never act on the public API.
		"agentC1": nil,
		"agentC2": nil,
		"agentC3": nil,
		"anyW1":   nil,
		"anyW3":   nil,
	}
	checkMatrix(t, w, "Authorize", "AuthenticateAPI", allowed, w.targets,
		func(p Principal, tg Target) error { return w.e.Authorize(w.ctx, p, tg) },
		func(secret string, tg Target) (Principal, error) { return w.e.AuthenticateAPI(w.ctx, secret, tg) })
}

// TestAuthorizeTargetShape: a target must set exactly one field.
func TestAuthorizeTargetShape(t *testing.T) {
	w := newWorld(t)
	a, w1, c1 := w.targets["A"].Account, w.targets["W1"].Workspace, w.clusters["c1"]
	shapes := map[string]Target{
		"none":                          {},
		"account and workspace":         {Account: a, Workspace: w1},
		"account and cluster":           {Account: a, Cluster: c1},
		"workspace and cluster":         {Workspace: w1, Cluster: c1},
		"account, workspace, cluster":   {Account: a, Workspace: w1, Cluster: c1},
		"unknown account and cluster":   {Account: w.targets["Aunknown"].Account, Cluster: c1},
		"workspace and unknown cluster": {Workspace: w1, Cluster: w.clusters["cunknown"]},
	}
	for _, kn := range []string{"accA", "app1"} {
		p := w.principal(kn)
		for _, sn := range sortedNames(shapes) {
			what := fmt.Sprintf("Authorize(%s, %s)", kn, sn)
			wantErr(t, what, w.e.Authorize(w.ctx, p, shapes[sn]), ErrInvalidArgument)
			_, err := w.e.AuthenticateAPI(w.ctx, w.keys[kn].Secret.Reveal(), shapes[sn])
			wantErr(t, "AuthenticateAPI"+what[len("Authorize"):], err, ErrInvalidArgument)
		}
	}
	// A principal of no kind is not one the engine issued.
	wantErr(t, "Authorize(zero principal)", w.e.Authorize(w.ctx, Principal{}, w.targets["W1"]), ErrInvalidArgument)
}

// TestAuthorizeAgent checks rules 1, 2 and 5 on agent operations: for each
// key, the clusters it may act for; every other cluster (another
// workspace's, a serverless one, a deleted, unknown or zero one) is
// ErrPermissionDenied.
func TestAuthorizeAgent(t *testing.T) {
	w := newWorld(t)
	allowed := map[string][]string{
		"agentC1": {"c1"},
		"agentC2": {"c2"},
		"agentC3": {"c3"},
		// "*" covers every BYOC cluster of the workspace, the schema
		// registry variant included, but not its serverless cluster.
		"anyW1": {"c1", "c1sr"},
		"anyW3": {"c3"},
		// Rule 5: other kinds are refused where an agent key is required.
		"accA": nil,
		"accB": nil,
		"app1": nil,
		"app2": nil,
		"app3": nil,
	}
	checkMatrix(t, w, "AuthorizeAgent", "AuthenticateAgent", allowed, w.clusters,
		func(p Principal, c keys.ClusterID) error { return w.e.AuthorizeAgent(w.ctx, p, c) },
		func(secret string, c keys.ClusterID) (Principal, error) {
			return w.e.AuthenticateAgent(w.ctx, secret, c)
		})
	wantErr(t, "AuthorizeAgent(zero principal)", w.e.AuthorizeAgent(w.ctx, Principal{}, w.clusters["c1"]), ErrPermissionDenied)
}

// TestAnyAgentKeyCoversNewClusters: a "*" agent key covers BYOC clusters
// created after it, and never a serverless one.
func TestAnyAgentKeyCoversNewClusters(t *testing.T) {
	w := newWorld(t)
	ws := w.targets["W1"].Workspace
	p := w.principal("anyW1")
	for _, typ := range []cluster.Type{cluster.BYOC, cluster.BYOCSchemaRegistry, cluster.Serverless} {
		c := w.cluster(ws, "late "+typ.String(), typ)
		var want error
		if typ == cluster.Serverless {
			want = ErrPermissionDenied
		}
		wantErr(t, "* key on a new "+typ.String()+" cluster", w.e.AuthorizeAgent(w.ctx, p, c.Cluster.ID), want)
		// The bound keys of other clusters do not.
		wantErr(t, "agentC1 on a new "+typ.String()+" cluster", w.e.AuthorizeAgent(w.ctx, w.principal("agentC1"), c.Cluster.ID), ErrPermissionDenied)
		if c.AgentKey != nil {
			// And the new cluster's own key covers only it.
			pk := w.authn(*c.AgentKey)
			wantErr(t, "new cluster's key on itself", w.e.AuthorizeAgent(w.ctx, pk, c.Cluster.ID), nil)
			wantErr(t, "new cluster's key on c1", w.e.AuthorizeAgent(w.ctx, pk, w.clusters["c1"]), ErrPermissionDenied)
		}
	}
}

// TestRefusedSecretsOnEveryPath: an unknown or malformed secret is
// ErrUnauthenticated on every path, whatever the target: authentication
// comes before authorization.
func TestRefusedSecretsOnEveryPath(t *testing.T) {
	w := newWorld(t)
	good := w.keys["app1"].Secret.Reveal()
	unknown, err := keys.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	deleted := w.keys["app2"]
	if err := w.e.DeleteKey(w.ctx, deleted.Key.ID); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"empty":          "",
		"unknown":        unknown.Reveal(),
		"deleted":        deleted.Secret.Reveal(),
		"truncated":      good[:len(good)-1],
		"extended":       good + "0",
		"wrong prefix":   "akx_" + good[4:],
		"uppercase":      "aks_" + string(upper(good[4:])),
		"prefix only":    "aks_",
		"one digit off":  good[:10] + string(otherHexDigit(good[10])) + good[11:],
		"digits swapped": swapAdjacent(good),
	}
	for _, bn := range sortedNames(bad) {
		_, err := w.e.Authenticate(w.ctx, bad[bn])
		wantErr(t, "Authenticate("+bn+")", err, ErrUnauthenticated)
		for _, tn := range []string{"W1", "A", "c1", "Wunknown"} {
			_, err := w.e.AuthenticateAPI(w.ctx, bad[bn], w.targets[tn])
			wantErr(t, fmt.Sprintf("AuthenticateAPI(%s, %s)", bn, tn), err, ErrUnauthenticated)
		}
		for _, cn := range []string{"c1", "s1", "cunknown"} {
			_, err := w.e.AuthenticateAgent(w.ctx, bad[bn], w.clusters[cn])
			wantErr(t, fmt.Sprintf("AuthenticateAgent(%s, %s)", bn, cn), err, ErrUnauthenticated)
		}
	}
}

func upper(s string) []byte {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return b
}

// swapAdjacent swaps the first two neighbouring, different digits of a
// secret's body.
func swapAdjacent(s string) string {
	b := []byte(s)
	for i := len(keys.SecretPrefix); i+1 < len(b); i++ {
		if b[i] != b[i+1] {
			b[i], b[i+1] = b[i+1], b[i]
			break
		}
	}
	return string(b)
}

// otherHexDigit returns a lowercase hex digit other than c.
func otherHexDigit(c byte) byte {
	const digits = "0123456789abcdef"
	for i := range len(digits) {
		if digits[i] == c {
			return digits[(i+1)%len(digits)]
		}
	}
	return '0'
}

// TestAuthorizeAllocs: an allowed authorization, of the public API on a
// cluster and on a workspace and of an agent on its cluster, allocates
// nothing (the cluster's name is not decoded, the store key is pooled).
func TestAuthorizeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	w := newWorld(t)
	principal := func(name string) Principal {
		p, err := w.e.Authenticate(w.ctx, w.keys[name].Secret.Reveal())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	app1, agent := principal("app1"), principal("agentC1")
	for name, call := range map[string]func() error{
		"Authorize(cluster)":   func() error { return w.e.Authorize(w.ctx, app1, w.targets["c1"]) },
		"Authorize(workspace)": func() error { return w.e.Authorize(w.ctx, app1, w.targets["W1"]) },
		"AuthorizeAgent":       func() error { return w.e.AuthorizeAgent(w.ctx, agent, w.clusters["c1"]) },
	} {
		if err := call(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := testing.AllocsPerRun(100, func() { _ = call() }); n != 0 {
			t.Errorf("%s allocates %v times, want 0", name, n)
		}
	}
}
