package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/keys"
)

func clusterID(c Cluster) keys.ClusterID { return c.ID }

func TestCreateClusterBYOC(t *testing.T) {
	for _, typ := range []cluster.Type{cluster.BYOC, cluster.BYOCSchemaRegistry} {
		t.Run(typ.String(), func(t *testing.T) {
			v := newEngine(t)
			a := v.account("acme")
			ws := v.workspace(a.ID, "prod")
			v.clock.Set(t0.Add(time.Hour))
			got, err := v.e.CreateCluster(v.ctx, ws.ID, ClusterSpec{Name: "orders", Type: typ})
			if err != nil {
				t.Fatal(err)
			}
			c := got.Cluster
			if c.ID.IsZero() {
				t.Fatal("CreateCluster returned a zero cluster id")
			}
			wantC := Cluster{ID: c.ID, Account: a.ID, Workspace: ws.ID, Name: "orders", Type: typ, SASL: cluster.SASLOff, CreatedAt: t0.Add(time.Hour)}
			diff(t, "CreateCluster: cluster", wantC, c)
			gotC, err := v.e.GetCluster(v.ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			diff(t, "GetCluster", wantC, gotC)

			if got.AgentKey == nil {
				t.Fatal("a BYOC cluster came without its agent key")
			}
			ak := *got.AgentKey
			if ak.Secret.IsZero() {
				t.Fatal("the agent key came without its secret")
			}
			wantK := Key{
				ID:        ak.Key.ID,
				Name:      "akn_agent",
				Account:   a.ID,
				Grant:     Grant{Workspace: ws.ID, Principal: KindAgent, Resource: VirtualCluster, ResourceID: c.ID.String()},
				CreatedAt: t0.Add(time.Hour),
			}
			diff(t, "agent key", wantK, ak.Key)
			gotK, err := v.e.GetKey(v.ctx, ak.Key.ID)
			if err != nil {
				t.Fatal(err)
			}
			diff(t, "GetKey(agent key)", wantK, gotK)

			// Exactly one key is bound to the cluster: this one.
			for _, f := range []KeyFilter{
				{Cluster: c.ID},
				{Cluster: c.ID, Kind: KindAgent},
				{Workspace: ws.ID},
				{Workspace: ws.ID, Kind: KindAgent},
			} {
				ks, err := v.e.ListKeys(v.ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				diff(t, fmt.Sprintf("ListKeys(%+v)", f), []Key{wantK}, ks)
			}
			for _, f := range []KeyFilter{{Workspace: ws.ID, Kind: KindApplication}, {Account: a.ID}, {Cluster: c.ID, Kind: KindApplication}} {
				ks, err := v.e.ListKeys(v.ctx, f)
				if err != nil || len(ks) != 0 {
					t.Errorf("ListKeys(%+v) = %v, %v; want none", f, ks, err)
				}
			}

			p := v.authn(ak)
			diff(t, "agent principal", Principal{Key: ak.Key.ID, Kind: KindAgent, Account: a.ID, Workspace: ws.ID, Cluster: c.ID}, p)
			wantErr(t, "AuthorizeAgent(own cluster)", v.e.AuthorizeAgent(v.ctx, p, c.ID), nil)
			if _, err := v.e.AuthenticateAgent(v.ctx, ak.Secret.Reveal(), c.ID); err != nil {
				t.Errorf("AuthenticateAgent(own cluster): %v", err)
			}
		})
	}
}

func TestCreateClusterServerless(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	got, err := v.e.CreateCluster(v.ctx, ws.ID, ClusterSpec{Name: "hosted", Type: cluster.Serverless})
	if err != nil {
		t.Fatal(err)
	}
	if got.AgentKey != nil {
		t.Errorf("a serverless cluster came with an agent key: %v", got.AgentKey.Key)
	}
	c := got.Cluster
	diff(t, "serverless cluster", Cluster{ID: c.ID, Account: a.ID, Workspace: ws.ID, Name: "hosted", Type: cluster.Serverless, SASL: cluster.SASLRequired, CreatedAt: t0}, c)
	for _, f := range []KeyFilter{{Cluster: c.ID}, {Workspace: ws.ID}} {
		ks, err := v.e.ListKeys(v.ctx, f)
		if err != nil || len(ks) != 0 {
			t.Errorf("ListKeys(%+v) = %v, %v; want none", f, ks, err)
		}
	}
	v.unchanged("CreateAgentKey(serverless)", func() {
		k, err := v.e.CreateAgentKey(v.ctx, ws.ID, c.ID, "akn_agent", time.Time{})
		wantErr(t, "CreateAgentKey(serverless)", err, ErrUnsupported)
		if !k.Secret.IsZero() || !k.Key.ID.IsZero() {
			t.Error("a refused CreateAgentKey returned a key")
		}
	})
	v.unchanged("CreateKey(agent for serverless)", func() {
		_, err := v.e.CreateKey(v.ctx, KeySpec{
			Name:  "akn_agent",
			Grant: Grant{Workspace: ws.ID, Principal: KindAgent, Resource: VirtualCluster, ResourceID: c.ID.String()},
		})
		wantErr(t, "CreateKey(agent for serverless)", err, ErrUnsupported)
	})
	v.unchanged("expiring agent key for serverless", func() {
		_, err := v.e.CreateAgentKey(v.ctx, ws.ID, c.ID, "akn_agent", t0.Add(time.Hour))
		wantErr(t, "CreateAgentKey(serverless, expiring)", err, ErrUnsupported)
	})
}

func TestCreateClusterSASLSpec(t *testing.T) {
	tests := []struct {
		typ  cluster.Type
		sasl cluster.SASLPolicy
		want cluster.SASLPolicy // 0: ErrInvalidArgument
	}{
		{cluster.BYOC, 0, cluster.SASLOff},
		{cluster.BYOC, cluster.SASLOff, cluster.SASLOff},
		{cluster.BYOC, cluster.SASLRequired, cluster.SASLRequired},
		{cluster.BYOCSchemaRegistry, 0, cluster.SASLOff},
		{cluster.BYOCSchemaRegistry, cluster.SASLRequired, cluster.SASLRequired},
		{cluster.Serverless, 0, cluster.SASLRequired},
		{cluster.Serverless, cluster.SASLRequired, cluster.SASLRequired},
		{cluster.Serverless, cluster.SASLOff, 0},
		{cluster.BYOC, cluster.SASLPolicy(3), 0},
		{cluster.Serverless, cluster.SASLPolicy(255), 0},
		{cluster.Type(0), 0, 0},
		{cluster.Type(0), cluster.SASLRequired, 0},
		{cluster.Type(4), cluster.SASLOff, 0},
		{cluster.Type(255), cluster.SASLRequired, 0},
	}
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	for i, tc := range tests {
		what := fmt.Sprintf("CreateCluster(%v, SASL %v)", tc.typ, tc.sasl)
		name := fmt.Sprintf("cluster %d", i)
		if tc.want == 0 {
			v.unchanged(what, func() {
				got, err := v.e.CreateCluster(v.ctx, ws.ID, ClusterSpec{Name: name, Type: tc.typ, SASL: tc.sasl})
				wantErr(t, what, err, ErrInvalidArgument)
				if got.AgentKey != nil || !got.Cluster.ID.IsZero() {
					t.Errorf("%s: refused, yet returned %+v", what, got.Cluster)
				}
			})
			continue
		}
		got, err := v.e.CreateCluster(v.ctx, ws.ID, ClusterSpec{Name: name, Type: tc.typ, SASL: tc.sasl})
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		if got.Cluster.SASL != tc.want || got.Cluster.Type != tc.typ {
			t.Errorf("%s: got type %v, SASL %v; want %v, %v", what, got.Cluster.Type, got.Cluster.SASL, tc.typ, tc.want)
		}
		if (got.AgentKey != nil) != tc.typ.IsBYOC() {
			t.Errorf("%s: agent key %v, want one iff BYOC", what, got.AgentKey != nil)
		}
	}
}

func TestCreateClusterErrors(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	unknown, _ := keys.NewWorkspaceID()
	for _, tc := range badDisplayNames {
		v.unchanged(tc.name, func() {
			_, err := v.e.CreateCluster(v.ctx, ws.ID, ClusterSpec{Name: tc.value, Type: cluster.BYOC})
			wantErr(t, "CreateCluster("+tc.name+")", err, ErrInvalidArgument)
		})
	}
	for _, typ := range []cluster.Type{cluster.BYOC, cluster.Serverless} {
		v.unchanged("unknown workspace", func() {
			_, err := v.e.CreateCluster(v.ctx, unknown, ClusterSpec{Name: "orders", Type: typ})
			wantErr(t, "CreateCluster(unknown workspace)", err, ErrNotFound)
		})
		v.unchanged("zero workspace", func() {
			_, err := v.e.CreateCluster(v.ctx, keys.WorkspaceID{}, ClusterSpec{Name: "orders", Type: typ})
			wantErr(t, "CreateCluster(zero workspace)", err, ErrInvalidArgument)
		})
	}
	cs, err := v.e.ListClusters(v.ctx, ws.ID)
	if err != nil || len(cs) != 0 {
		t.Errorf("ListClusters after refused creates = %v, %v; want none", cs, err)
	}
}

func TestClusterNamesUniquePerWorkspace(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	b := v.account("globex")
	ws1 := v.workspace(a.ID, "prod")
	ws2 := v.workspace(a.ID, "staging")
	ws3 := v.workspace(b.ID, "prod")
	orders := v.cluster(ws1.ID, "orders", cluster.BYOC)
	hosted := v.cluster(ws1.ID, "hosted", cluster.Serverless)

	for _, tc := range []struct {
		name string
		typ  cluster.Type
	}{
		{"orders", cluster.BYOC},
		{"orders", cluster.Serverless},
		{"orders", cluster.BYOCSchemaRegistry},
		{"hosted", cluster.BYOC},
		{"hosted", cluster.Serverless},
	} {
		what := fmt.Sprintf("CreateCluster(ws1, %q, %v)", tc.name, tc.typ)
		v.unchanged(what, func() {
			got, err := v.e.CreateCluster(v.ctx, ws1.ID, ClusterSpec{Name: tc.name, Type: tc.typ})
			wantErr(t, what, err, ErrAlreadyExists)
			if got.AgentKey != nil {
				t.Errorf("%s: refused, yet returned an agent key", what)
			}
		})
	}
	// A refused duplicate issued no agent key.
	ks, err := v.e.ListKeys(v.ctx, KeyFilter{Workspace: ws1.ID})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListKeys(ws1) after refused duplicates", []Key{orders.AgentKey.Key}, ks)

	// The same name in another workspace, of this account or another.
	other2 := v.cluster(ws2.ID, "orders", cluster.BYOC)
	other3 := v.cluster(ws3.ID, "orders", cluster.Serverless)
	for _, c := range []Cluster{other2.Cluster, other3.Cluster} {
		if c.ID == orders.Cluster.ID {
			t.Error("clusters of the same name in two workspaces share an id")
		}
	}

	// Deleting frees the name, in its workspace only.
	if err := v.e.DeleteCluster(v.ctx, orders.Cluster.ID); err != nil {
		t.Fatal(err)
	}
	again := v.cluster(ws1.ID, "orders", cluster.Serverless)
	if again.Cluster.ID == orders.Cluster.ID {
		t.Error("a re-created cluster reused the deleted cluster's id")
	}
	_, err = v.e.CreateCluster(v.ctx, ws1.ID, ClusterSpec{Name: "orders", Type: cluster.BYOC})
	wantErr(t, "CreateCluster(ws1, orders) after re-creation", err, ErrAlreadyExists)
	if err := v.e.DeleteCluster(v.ctx, hosted.Cluster.ID); err != nil {
		t.Fatal(err)
	}
	hostedAgain := v.cluster(ws1.ID, "hosted", cluster.BYOC)

	got, err := v.e.ListClusters(v.ctx, ws1.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListClusters(ws1)", sortedByID([]Cluster{again.Cluster, hostedAgain.Cluster}, clusterID), got)
	got, err = v.e.ListClusters(v.ctx, ws2.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListClusters(ws2)", []Cluster{other2.Cluster}, got)
}

func TestGetAndListClusters(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	other := v.workspace(a.ID, "staging")
	empty := v.workspace(a.ID, "empty")
	var inWS []Cluster
	for i, typ := range []cluster.Type{cluster.BYOC, cluster.Serverless, cluster.BYOCSchemaRegistry, cluster.BYOC, cluster.Serverless} {
		c := v.cluster(ws.ID, fmt.Sprintf("c%d", i), typ)
		inWS = append(inWS, c.Cluster)
		got, err := v.e.GetCluster(v.ctx, c.Cluster.ID)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "GetCluster", c.Cluster, got)
	}
	o := v.cluster(other.ID, "c0", cluster.BYOC)

	got, err := v.e.ListClusters(v.ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListClusters(ws)", sortedByID(inWS, clusterID), got)
	got, err = v.e.ListClusters(v.ctx, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListClusters(other)", []Cluster{o.Cluster}, got)
	got, err = v.e.ListClusters(v.ctx, empty.ID)
	if err != nil || len(got) != 0 {
		t.Errorf("ListClusters(empty workspace) = %v, %v; want none", got, err)
	}

	unknownC, _ := keys.NewClusterID()
	_, err = v.e.GetCluster(v.ctx, unknownC)
	wantErr(t, "GetCluster(unknown)", err, ErrNotFound)
	_, err = v.e.GetCluster(v.ctx, keys.ClusterID{})
	wantErr(t, "GetCluster(zero)", err, ErrInvalidArgument)
	unknownW, _ := keys.NewWorkspaceID()
	_, err = v.e.ListClusters(v.ctx, unknownW)
	wantErr(t, "ListClusters(unknown)", err, ErrNotFound)
	_, err = v.e.ListClusters(v.ctx, keys.WorkspaceID{})
	wantErr(t, "ListClusters(zero)", err, ErrInvalidArgument)
}

func TestSetClusterSASL(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")

	for _, typ := range []cluster.Type{cluster.BYOC, cluster.BYOCSchemaRegistry} {
		c := v.cluster(ws.ID, "byoc "+typ.String(), typ)
		want := c.Cluster
		for _, p := range []cluster.SASLPolicy{cluster.SASLRequired, cluster.SASLRequired, cluster.SASLOff, cluster.SASLOff, cluster.SASLRequired} {
			what := fmt.Sprintf("SetClusterSASL(%v, %v)", typ, p)
			v.unchanged(what, func() {
				got, err := v.e.SetClusterSASL(v.ctx, c.Cluster.ID, p)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				want.SASL = p
				diff(t, what, want, got)
				stored, err := v.e.GetCluster(v.ctx, c.Cluster.ID)
				if err != nil {
					t.Fatal(err)
				}
				diff(t, "GetCluster after "+what, want, stored)
			})
		}
		for _, p := range []cluster.SASLPolicy{0, 3, 255} {
			what := fmt.Sprintf("SetClusterSASL(%v, %v)", typ, p)
			v.unchanged(what, func() {
				_, err := v.e.SetClusterSASL(v.ctx, c.Cluster.ID, p)
				wantErr(t, what, err, ErrInvalidArgument)
			})
		}
		stored, err := v.e.GetCluster(v.ctx, c.Cluster.ID)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "GetCluster after refused changes", want, stored)
		// The cluster's agent key is untouched by policy changes.
		if _, err := v.e.AuthenticateAgent(v.ctx, c.AgentKey.Secret.Reveal(), c.Cluster.ID); err != nil {
			t.Errorf("agent key after SASL changes: %v", err)
		}
	}

	sl := v.cluster(ws.ID, "hosted", cluster.Serverless)
	for _, p := range []cluster.SASLPolicy{cluster.SASLOff, 0, 3} {
		what := fmt.Sprintf("SetClusterSASL(serverless, %v)", p)
		v.unchanged(what, func() {
			got, err := v.e.SetClusterSASL(v.ctx, sl.Cluster.ID, p)
			wantErr(t, what, err, ErrInvalidArgument)
			diff(t, what+" result", Cluster{}, got)
		})
	}
	got, err := v.e.SetClusterSASL(v.ctx, sl.Cluster.ID, cluster.SASLRequired)
	if err != nil {
		t.Fatalf("SetClusterSASL(serverless, required): %v", err)
	}
	diff(t, "SetClusterSASL(serverless, required)", sl.Cluster, got)
	stored, err := v.e.GetCluster(v.ctx, sl.Cluster.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "serverless cluster after refused changes", sl.Cluster, stored)

	unknown, _ := keys.NewClusterID()
	_, err = v.e.SetClusterSASL(v.ctx, unknown, cluster.SASLRequired)
	wantErr(t, "SetClusterSASL(unknown)", err, ErrNotFound)
	_, err = v.e.SetClusterSASL(v.ctx, keys.ClusterID{}, cluster.SASLRequired)
	wantErr(t, "SetClusterSASL(zero)", err, ErrInvalidArgument)
}

func TestDeleteCluster(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	other := v.workspace(a.ID, "staging")
	c2 := v.cluster(ws.ID, "west", cluster.BYOC)
	sl := v.cluster(ws.ID, "hosted", cluster.Serverless)
	oc := v.cluster(other.ID, "east", cluster.BYOC)
	anyKey := v.anyAgentKey(ws.ID)
	app := v.appKey(ws.ID)
	acct := v.accountKey(a.ID)
	before := v.st.Len()

	c1 := v.cluster(ws.ID, "east", cluster.BYOC)
	k1 := *c1.AgentKey
	k1b := v.agentKey(ws.ID, c1.Cluster.ID)
	k1c, err := v.e.CreateAgentKey(v.ctx, ws.ID, c1.Cluster.ID, "akn_expiring", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := v.e.ListKeys(v.ctx, KeyFilter{Cluster: c1.Cluster.ID})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListKeys(c1)", sortedByID([]Key{k1.Key, k1b.Key, k1c.Key}, keyID), ks)
	pAny := v.authn(anyKey)
	wantErr(t, "* key on c1 before the delete", v.e.AuthorizeAgent(v.ctx, pAny, c1.Cluster.ID), nil)

	if err := v.e.DeleteCluster(v.ctx, c1.Cluster.ID); err != nil {
		t.Fatalf("DeleteCluster: %v", err)
	}
	if after := v.st.Len(); after != before {
		t.Errorf("DeleteCluster left %d keys in the store, want %d as before the cluster", after, before)
	}
	for _, k := range []IssuedKey{k1, k1b, k1c} {
		v.refused("bound agent key after DeleteCluster", k)
		_, err := v.e.GetKey(v.ctx, k.Key.ID)
		wantErr(t, "GetKey(bound agent key) after DeleteCluster", err, ErrNotFound)
		wantErr(t, "DeleteKey(bound agent key) after DeleteCluster", v.e.DeleteKey(v.ctx, k.Key.ID), ErrNotFound)
	}
	_, err = v.e.GetCluster(v.ctx, c1.Cluster.ID)
	wantErr(t, "GetCluster after DeleteCluster", err, ErrNotFound)
	_, err = v.e.ListKeys(v.ctx, KeyFilter{Cluster: c1.Cluster.ID})
	wantErr(t, "ListKeys(deleted cluster)", err, ErrNotFound)
	wantErr(t, "DeleteCluster twice", v.e.DeleteCluster(v.ctx, c1.Cluster.ID), ErrNotFound)
	_, err = v.e.CreateAgentKey(v.ctx, ws.ID, c1.Cluster.ID, "akn_late", time.Time{})
	wantErr(t, "CreateAgentKey(deleted cluster)", err, ErrNotFound)

	cs, err := v.e.ListClusters(v.ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListClusters after DeleteCluster", sortedByID([]Cluster{c2.Cluster, sl.Cluster}, clusterID), cs)
	ks, err = v.e.ListKeys(v.ctx, KeyFilter{Workspace: ws.ID})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListKeys(ws) after DeleteCluster", sortedByID([]Key{c2.AgentKey.Key, anyKey.Key, app.Key}, keyID), ks)

	// The workspace's "*" agent key stays, and still covers the others.
	pAny = v.authn(anyKey)
	wantErr(t, "* key on the deleted cluster", v.e.AuthorizeAgent(v.ctx, pAny, c1.Cluster.ID), ErrPermissionDenied)
	wantErr(t, "* key on the remaining BYOC cluster", v.e.AuthorizeAgent(v.ctx, pAny, c2.Cluster.ID), nil)
	if _, err := v.e.AuthenticateAgent(v.ctx, c2.AgentKey.Secret.Reveal(), c2.Cluster.ID); err != nil {
		t.Errorf("other cluster's agent key after DeleteCluster: %v", err)
	}
	if _, err := v.e.AuthenticateAgent(v.ctx, oc.AgentKey.Secret.Reveal(), oc.Cluster.ID); err != nil {
		t.Errorf("other workspace's cluster with the same name after DeleteCluster: %v", err)
	}
	v.authn(app)
	v.authn(acct)
	_, err = v.e.AuthenticateAPI(v.ctx, app.Secret.Reveal(), Target{Cluster: c1.Cluster.ID})
	wantErr(t, "application key on the deleted cluster", err, ErrPermissionDenied)

	// A serverless cluster, and a BYOC cluster whose agent key was deleted
	// first, delete cleanly too.
	if err := v.e.DeleteKey(v.ctx, c2.AgentKey.Key.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Cluster{c2.Cluster, sl.Cluster} {
		if err := v.e.DeleteCluster(v.ctx, c.ID); err != nil {
			t.Fatalf("DeleteCluster(%v): %v", c.Type, err)
		}
	}
	cs, err = v.e.ListClusters(v.ctx, ws.ID)
	if err != nil || len(cs) != 0 {
		t.Errorf("ListClusters after deleting every cluster = %v, %v; want none", cs, err)
	}
	ks, err = v.e.ListKeys(v.ctx, KeyFilter{Workspace: ws.ID})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListKeys(ws) after deleting every cluster", sortedByID([]Key{anyKey.Key, app.Key}, keyID), ks)
	v.authn(anyKey)

	wantErr(t, "DeleteCluster(zero)", v.e.DeleteCluster(v.ctx, keys.ClusterID{}), ErrInvalidArgument)
	unknown, _ := keys.NewClusterID()
	wantErr(t, "DeleteCluster(unknown)", v.e.DeleteCluster(v.ctx, unknown), ErrNotFound)
}
