package auth

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/keys"
)

var (
	appGrantOf = func(ws keys.WorkspaceID) Grant {
		return Grant{Workspace: ws, Principal: KindApplication, Resource: AnyResource, ResourceID: AnyID}
	}
	agentGrantOf = func(ws keys.WorkspaceID, resourceID string) Grant {
		return Grant{Workspace: ws, Principal: KindAgent, Resource: VirtualCluster, ResourceID: resourceID}
	}
	accountGrant = Grant{Principal: KindAccount, Resource: AnyResource, ResourceID: AnyID}
)

func TestCreateApplicationKey(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	v.clock.Set(t0.Add(time.Minute))
	exp := t0.Add(24 * time.Hour)

	for _, tc := range []struct {
		name   keys.KeyName
		expiry time.Time
		create func(keys.KeyName, time.Time) (IssuedKey, error)
	}{
		{"akn_terraform", time.Time{}, func(n keys.KeyName, x time.Time) (IssuedKey, error) {
			return v.e.CreateApplicationKey(v.ctx, ws.ID, n, x)
		}},
		{"akn_ci_2", exp, func(n keys.KeyName, x time.Time) (IssuedKey, error) {
			return v.e.CreateApplicationKey(v.ctx, ws.ID, n, x)
		}},
		{"akn_Spec_Key_9", exp, func(n keys.KeyName, x time.Time) (IssuedKey, error) {
			return v.e.CreateKey(v.ctx, KeySpec{Name: n, Grant: appGrantOf(ws.ID), ExpiresAt: x})
		}},
		{"akn_" + keys.KeyName(strings.Repeat("x", keys.MaxKeyNameLen-4)), time.Time{}, func(n keys.KeyName, x time.Time) (IssuedKey, error) {
			return v.e.CreateApplicationKey(v.ctx, ws.ID, n, x)
		}},
	} {
		k, err := tc.create(tc.name, tc.expiry)
		if err != nil {
			t.Fatalf("create %s: %v", tc.name, err)
		}
		if k.Key.ID.IsZero() || k.Secret.IsZero() {
			t.Fatalf("create %s: zero id or secret", tc.name)
		}
		if s := k.Secret.Reveal(); len(s) != keys.SecretLen || !strings.HasPrefix(s, keys.SecretPrefix) {
			t.Errorf("create %s: a secret of the wrong shape (length %d)", tc.name, len(s))
		}
		want := Key{ID: k.Key.ID, Name: tc.name, Account: a.ID, Grant: appGrantOf(ws.ID), CreatedAt: t0.Add(time.Minute), ExpiresAt: tc.expiry}
		diff(t, "issued application key", want, k.Key)
		got, err := v.e.GetKey(v.ctx, k.Key.ID)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "GetKey", want, got)
		diff(t, "application principal", Principal{Key: k.Key.ID, Kind: KindApplication, Account: a.ID, Workspace: ws.ID, ExpiresAt: tc.expiry}, v.authn(k))
	}
}

func TestKeyNamesNeedNotBeUnique(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	k1, k2 := v.appKey(ws.ID), v.appKey(ws.ID)
	if k1.Key.ID == k2.Key.ID || k1.Secret.Equal(k2.Secret) {
		t.Fatal("two keys share an id or a secret")
	}
	if p := v.authn(k1); p.Key != k1.Key.ID {
		t.Errorf("first key authenticates as %s", p.Key)
	}
	if p := v.authn(k2); p.Key != k2.Key.ID {
		t.Errorf("second key authenticates as %s", p.Key)
	}
}

func TestCreateAccountKey(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	b := v.account("globex")
	v.workspace(a.ID, "prod")
	exp := t0.Add(time.Hour)
	k1, err := v.e.CreateAccountKey(v.ctx, a.ID, "akn_ops", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	k2, err := v.e.CreateKey(v.ctx, KeySpec{Name: "akn_ops2", Account: a.ID, Grant: accountGrant, ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		k    IssuedKey
		name keys.KeyName
		exp  time.Time
	}{{k1, "akn_ops", time.Time{}}, {k2, "akn_ops2", exp}} {
		want := Key{ID: tc.k.Key.ID, Name: tc.name, Account: a.ID, Grant: accountGrant, CreatedAt: t0, ExpiresAt: tc.exp}
		diff(t, "issued account key", want, tc.k.Key)
		got, err := v.e.GetKey(v.ctx, tc.k.Key.ID)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "GetKey(account key)", want, got)
		diff(t, "account principal", Principal{Key: tc.k.Key.ID, Kind: KindAccount, Account: a.ID, ExpiresAt: tc.exp}, v.authn(tc.k))
	}
	ks, err := v.e.ListKeys(v.ctx, KeyFilter{Account: b.ID})
	if err != nil || len(ks) != 0 {
		t.Errorf("ListKeys(other account) = %v, %v; want none", ks, err)
	}
}

func TestCreateAgentKeys(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	c := v.cluster(ws.ID, "orders", cluster.BYOC)
	sr := v.cluster(ws.ID, "schemas", cluster.BYOCSchemaRegistry)
	exp := t0.Add(time.Hour)

	bound, err := v.e.CreateAgentKey(v.ctx, ws.ID, c.Cluster.ID, "akn_agent_b", exp)
	if err != nil {
		t.Fatal(err)
	}
	viaSpec, err := v.e.CreateKey(v.ctx, KeySpec{Name: "akn_agent_s", Grant: agentGrantOf(ws.ID, sr.Cluster.ID.String())})
	if err != nil {
		t.Fatal(err)
	}
	anyKey, err := v.e.CreateKey(v.ctx, KeySpec{Name: "akn_fleet", Grant: agentGrantOf(ws.ID, AnyID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		k     IssuedKey
		name  keys.KeyName
		c     keys.ClusterID // zero: "*"
		exp   time.Time
		label string
	}{
		{bound, "akn_agent_b", c.Cluster.ID, exp, "CreateAgentKey"},
		{viaSpec, "akn_agent_s", sr.Cluster.ID, time.Time{}, "CreateKey(bound)"},
		{anyKey, "akn_fleet", keys.ClusterID{}, time.Time{}, "CreateKey(*)"},
	} {
		rid := AnyID
		if !tc.c.IsZero() {
			rid = tc.c.String()
		}
		want := Key{ID: tc.k.Key.ID, Name: tc.name, Account: a.ID, Grant: agentGrantOf(ws.ID, rid), CreatedAt: t0, ExpiresAt: tc.exp}
		diff(t, tc.label+": issued key", want, tc.k.Key)
		got, err := v.e.GetKey(v.ctx, tc.k.Key.ID)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, tc.label+": GetKey", want, got)
		wantP := Principal{Key: tc.k.Key.ID, Kind: KindAgent, Account: a.ID, Workspace: ws.ID, Cluster: tc.c, AnyCluster: tc.c.IsZero(), ExpiresAt: tc.exp}
		diff(t, tc.label+": principal", wantP, v.authn(tc.k))
	}
	ks, err := v.e.ListKeys(v.ctx, KeyFilter{Cluster: c.Cluster.ID})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListKeys(cluster)", sortedByID([]Key{c.AgentKey.Key, bound.Key}, keyID), ks)
	ks, err = v.e.ListKeys(v.ctx, KeyFilter{Cluster: sr.Cluster.ID})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListKeys(schema registry cluster)", sortedByID([]Key{sr.AgentKey.Key, viaSpec.Key}, keyID), ks)
}

// TestCreateKeyInvalidSpecs feeds CreateKey grants that mix kinds and other
// malformed specs: each is ErrInvalidArgument and writes nothing.
func TestCreateKeyInvalidSpecs(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	c := v.cluster(ws.ID, "orders", cluster.BYOC)
	cid := c.Cluster.ID.String()
	hexPart := strings.TrimPrefix(cid, "vci_")

	specs := []struct {
		name string
		spec KeySpec
	}{
		{"application with a cluster resource", KeySpec{Grant: Grant{Workspace: ws.ID, Principal: KindApplication, Resource: VirtualCluster, ResourceID: cid}}},
		{"application with a cluster resource kind", KeySpec{Grant: Grant{Workspace: ws.ID, Principal: KindApplication, Resource: VirtualCluster, ResourceID: AnyID}}},
		{"application with a cluster id", KeySpec{Grant: Grant{Workspace: ws.ID, Principal: KindApplication, Resource: AnyResource, ResourceID: cid}}},
		{"application without workspace", KeySpec{Grant: appGrantOf(keys.WorkspaceID{})}},
		{"application with Account set", KeySpec{Account: a.ID, Grant: appGrantOf(ws.ID)}},
		{"application with empty resource", KeySpec{Grant: Grant{Workspace: ws.ID, Principal: KindApplication}}},
		{"agent with * resource kind", KeySpec{Grant: Grant{Workspace: ws.ID, Principal: KindAgent, Resource: AnyResource, ResourceID: AnyID}}},
		{"agent with * resource kind and a cluster", KeySpec{Grant: Grant{Workspace: ws.ID, Principal: KindAgent, Resource: AnyResource, ResourceID: cid}}},
		{"agent with another resource kind", KeySpec{Grant: Grant{Workspace: ws.ID, Principal: KindAgent, Resource: "topic", ResourceID: cid}}},
		{"agent with empty resource kind", KeySpec{Grant: Grant{Workspace: ws.ID, Principal: KindAgent, ResourceID: cid}}},
		{"agent without workspace", KeySpec{Grant: agentGrantOf(keys.WorkspaceID{}, cid)}},
		{"agent * without workspace", KeySpec{Grant: agentGrantOf(keys.WorkspaceID{}, AnyID)}},
		{"agent with Account set", KeySpec{Account: a.ID, Grant: agentGrantOf(ws.ID, cid)}},
		{"agent * with Account set", KeySpec{Account: a.ID, Grant: agentGrantOf(ws.ID, AnyID)}},
		{"agent with malformed cluster id", KeySpec{Grant: agentGrantOf(ws.ID, "vci_nope")}},
		{"agent with empty cluster id", KeySpec{Grant: agentGrantOf(ws.ID, "")}},
		{"agent with uppercase cluster id", KeySpec{Grant: agentGrantOf(ws.ID, "vci_"+strings.ToUpper(hexPart))}},
		{"agent with dashed cluster id", KeySpec{Grant: agentGrantOf(ws.ID, "vci_"+strings.ReplaceAll(hexPart, "_", "-"))}},
		{"agent with bare uuid", KeySpec{Grant: agentGrantOf(ws.ID, hexPart)}},
		{"agent with a workspace id", KeySpec{Grant: agentGrantOf(ws.ID, ws.ID.String())}},
		{"agent with a trailing space", KeySpec{Grant: agentGrantOf(ws.ID, cid+" ")}},
		{"agent with the zero cluster id", KeySpec{Grant: agentGrantOf(ws.ID, "vci_00000000_0000_0000_0000_000000000000")}},
		{"agent with **", KeySpec{Grant: agentGrantOf(ws.ID, "**")}},
		{"account key with a workspace", KeySpec{Account: a.ID, Grant: Grant{Workspace: ws.ID, Principal: KindAccount, Resource: AnyResource, ResourceID: AnyID}}},
		{"account key without Account", KeySpec{Grant: accountGrant}},
		{"account key with a cluster resource", KeySpec{Account: a.ID, Grant: Grant{Principal: KindAccount, Resource: VirtualCluster, ResourceID: AnyID}}},
		{"account key with a cluster id", KeySpec{Account: a.ID, Grant: Grant{Principal: KindAccount, Resource: AnyResource, ResourceID: cid}}},
		{"unknown kind 0", KeySpec{Grant: Grant{Workspace: ws.ID, Resource: AnyResource, ResourceID: AnyID}}},
		{"unknown kind 4", KeySpec{Grant: Grant{Workspace: ws.ID, Principal: Kind(4), Resource: AnyResource, ResourceID: AnyID}}},
		{"unknown kind 255 with account", KeySpec{Account: a.ID, Grant: Grant{Principal: Kind(255), Resource: AnyResource, ResourceID: AnyID}}},
		{"empty spec", KeySpec{}},
	}
	for i := range specs {
		if specs[i].spec.Name == "" && specs[i].name != "empty spec" {
			specs[i].spec.Name = "akn_test"
		}
	}
	for _, name := range []keys.KeyName{
		"", "akn_", "agent", "akn", "AKN_upper", "akn_bad-name", "akn_with space", "akn_dot.", "akn_é",
		"akn_new\nline", " akn_lead", "akn_" + keys.KeyName(strings.Repeat("x", keys.MaxKeyNameLen-3)),
	} {
		specs = append(specs, struct {
			name string
			spec KeySpec
		}{fmt.Sprintf("name %q", name), KeySpec{Name: name, Grant: appGrantOf(ws.ID)}})
	}
	for _, tc := range specs {
		v.unchanged(tc.name, func() {
			k, err := v.e.CreateKey(v.ctx, tc.spec)
			wantErr(t, "CreateKey("+tc.name+")", err, ErrInvalidArgument)
			if !k.Key.ID.IsZero() || !k.Secret.IsZero() {
				t.Errorf("CreateKey(%s): refused, yet returned a key", tc.name)
			}
		})
	}

	// The same through the convenience constructors.
	calls := []struct {
		name string
		call func() (IssuedKey, error)
	}{
		{"CreateApplicationKey(zero workspace)", func() (IssuedKey, error) {
			return v.e.CreateApplicationKey(v.ctx, keys.WorkspaceID{}, "akn_x", time.Time{})
		}},
		{"CreateApplicationKey(bad name)", func() (IssuedKey, error) {
			return v.e.CreateApplicationKey(v.ctx, ws.ID, "akn_bad-name", time.Time{})
		}},
		{"CreateAgentKey(zero cluster)", func() (IssuedKey, error) {
			return v.e.CreateAgentKey(v.ctx, ws.ID, keys.ClusterID{}, "akn_x", time.Time{})
		}},
		{"CreateAgentKey(zero workspace)", func() (IssuedKey, error) {
			return v.e.CreateAgentKey(v.ctx, keys.WorkspaceID{}, c.Cluster.ID, "akn_x", time.Time{})
		}},
		{"CreateAgentKey(bad name)", func() (IssuedKey, error) {
			return v.e.CreateAgentKey(v.ctx, ws.ID, c.Cluster.ID, "x", time.Time{})
		}},
		{"CreateAccountKey(zero account)", func() (IssuedKey, error) {
			return v.e.CreateAccountKey(v.ctx, keys.AccountID{}, "akn_x", time.Time{})
		}},
		{"CreateAccountKey(bad name)", func() (IssuedKey, error) {
			return v.e.CreateAccountKey(v.ctx, a.ID, "", time.Time{})
		}},
	}
	for _, tc := range calls {
		v.unchanged(tc.name, func() {
			_, err := tc.call()
			wantErr(t, tc.name, err, ErrInvalidArgument)
		})
	}
}

// TestCreateKeyScope: a well-formed grant whose account, workspace or
// cluster does not exist, or whose cluster is in another workspace, is
// ErrNotFound and writes nothing.
func TestCreateKeyScope(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	b := v.account("globex")
	ws := v.workspace(a.ID, "prod")
	sibling := v.workspace(a.ID, "staging")
	foreign := v.workspace(b.ID, "prod")
	cSib := v.cluster(sibling.ID, "orders", cluster.BYOC)
	cForeign := v.cluster(foreign.ID, "orders", cluster.BYOC)
	unknownW, _ := keys.NewWorkspaceID()
	unknownC, _ := keys.NewClusterID()
	unknownA, _ := keys.NewAccountID()

	calls := []struct {
		name string
		call func() (IssuedKey, error)
	}{
		{"agent key for a cluster of a sibling workspace", func() (IssuedKey, error) {
			return v.e.CreateAgentKey(v.ctx, ws.ID, cSib.Cluster.ID, "akn_x", time.Time{})
		}},
		{"agent key for a cluster of another account's workspace", func() (IssuedKey, error) {
			return v.e.CreateAgentKey(v.ctx, ws.ID, cForeign.Cluster.ID, "akn_x", time.Time{})
		}},
		{"agent key for a cluster, under an unknown workspace", func() (IssuedKey, error) {
			return v.e.CreateAgentKey(v.ctx, unknownW, cSib.Cluster.ID, "akn_x", time.Time{})
		}},
		{"agent key for an unknown cluster", func() (IssuedKey, error) {
			return v.e.CreateAgentKey(v.ctx, ws.ID, unknownC, "akn_x", time.Time{})
		}},
		{"agent * key for an unknown workspace", func() (IssuedKey, error) {
			return v.e.CreateKey(v.ctx, KeySpec{Name: "akn_x", Grant: agentGrantOf(unknownW, AnyID)})
		}},
		{"application key for an unknown workspace", func() (IssuedKey, error) {
			return v.e.CreateApplicationKey(v.ctx, unknownW, "akn_x", time.Time{})
		}},
		{"account key for an unknown account", func() (IssuedKey, error) {
			return v.e.CreateAccountKey(v.ctx, unknownA, "akn_x", time.Time{})
		}},
	}
	for _, tc := range calls {
		v.unchanged(tc.name, func() {
			k, err := tc.call()
			wantErr(t, tc.name, err, ErrNotFound)
			if !k.Secret.IsZero() {
				t.Errorf("%s: refused, yet returned a secret", tc.name)
			}
		})
	}
	for _, w := range []keys.WorkspaceID{ws.ID, sibling.ID, foreign.ID} {
		ks, err := v.e.ListKeys(v.ctx, KeyFilter{Workspace: w, Kind: KindApplication})
		if err != nil || len(ks) != 0 {
			t.Errorf("ListKeys(%s) = %v, %v; want no application key", w, ks, err)
		}
	}
	ks, err := v.e.ListKeys(v.ctx, KeyFilter{Cluster: cSib.Cluster.ID})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListKeys(sibling cluster)", []Key{cSib.AgentKey.Key}, ks)
}

func TestKeyExpiryInThePast(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	c := v.cluster(ws.ID, "orders", cluster.BYOC)
	for _, exp := range []time.Time{t0, t0.Add(-time.Nanosecond), t0.Add(-time.Hour), time.Unix(1, 0)} {
		calls := []struct {
			name string
			call func() (IssuedKey, error)
		}{
			{"application", func() (IssuedKey, error) { return v.e.CreateApplicationKey(v.ctx, ws.ID, "akn_x", exp) }},
			{"agent", func() (IssuedKey, error) { return v.e.CreateAgentKey(v.ctx, ws.ID, c.Cluster.ID, "akn_x", exp) }},
			{"agent *", func() (IssuedKey, error) {
				return v.e.CreateKey(v.ctx, KeySpec{Name: "akn_x", Grant: agentGrantOf(ws.ID, AnyID), ExpiresAt: exp})
			}},
			{"account", func() (IssuedKey, error) { return v.e.CreateAccountKey(v.ctx, a.ID, "akn_x", exp) }},
		}
		for _, tc := range calls {
			what := fmt.Sprintf("%s key expiring at now%+v", tc.name, exp.Sub(t0))
			v.unchanged(what, func() {
				_, err := tc.call()
				wantErr(t, what, err, ErrInvalidArgument)
			})
		}
	}
}

func TestKeyExpiry(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	c := v.cluster(ws.ID, "orders", cluster.BYOC)
	exp := t0.Add(time.Hour)

	app, err := v.e.CreateApplicationKey(v.ctx, ws.ID, "akn_app", exp)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := v.e.CreateAccountKey(v.ctx, a.ID, "akn_acct", exp)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := v.e.CreateAgentKey(v.ctx, ws.ID, c.Cluster.ID, "akn_agent", exp)
	if err != nil {
		t.Fatal(err)
	}
	anyAgent, err := v.e.CreateKey(v.ctx, KeySpec{Name: "akn_fleet", Grant: agentGrantOf(ws.ID, AnyID), ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	// One that expires barely after now.
	brief, err := v.e.CreateApplicationKey(v.ctx, ws.ID, "akn_brief", t0.Add(time.Nanosecond))
	if err != nil {
		t.Fatal(err)
	}
	forever := v.appKey(ws.ID)

	apiKeys := []IssuedKey{app, acct}
	agentKeys := []IssuedKey{agent, anyAgent}
	all := append(append([]IssuedKey{brief}, apiKeys...), agentKeys...)
	principals := map[keys.KeyID]Principal{}

	for _, now := range []time.Time{t0, exp.Add(-time.Nanosecond)} {
		v.clock.Set(now)
		for _, k := range all {
			if k.Key.ID == brief.Key.ID && now != t0 {
				continue
			}
			p := v.authn(k)
			if !p.ExpiresAt.Equal(k.Key.ExpiresAt) {
				t.Errorf("principal expires at %v, want %v", p.ExpiresAt, k.Key.ExpiresAt)
			}
			principals[k.Key.ID] = p
		}
		for _, k := range apiKeys {
			if _, err := v.e.AuthenticateAPI(v.ctx, k.Secret.Reveal(), Target{Workspace: ws.ID}); err != nil {
				t.Errorf("at now%+v: AuthenticateAPI(%v key): %v", now.Sub(t0), principals[k.Key.ID].Kind, err)
			}
			wantErr(t, "Authorize before expiry", v.e.Authorize(v.ctx, principals[k.Key.ID], Target{Workspace: ws.ID}), nil)
		}
		for _, k := range agentKeys {
			if _, err := v.e.AuthenticateAgent(v.ctx, k.Secret.Reveal(), c.Cluster.ID); err != nil {
				t.Errorf("at now%+v: AuthenticateAgent: %v", now.Sub(t0), err)
			}
			wantErr(t, "AuthorizeAgent before expiry", v.e.AuthorizeAgent(v.ctx, principals[k.Key.ID], c.Cluster.ID), nil)
		}
	}

	v.clock.Set(t0.Add(time.Nanosecond))
	v.refused("brief key at its expiry", brief)

	for _, now := range []time.Time{exp, exp.Add(time.Nanosecond), exp.Add(365 * 24 * time.Hour)} {
		v.clock.Set(now)
		what := fmt.Sprintf("at expiry%+v", now.Sub(exp))
		for _, k := range all {
			v.refused(what+": Authenticate", k)
		}
		for _, k := range apiKeys {
			_, err := v.e.AuthenticateAPI(v.ctx, k.Secret.Reveal(), Target{Workspace: ws.ID})
			wantErr(t, what+": AuthenticateAPI", err, ErrUnauthenticated)
			// A principal taken before expiry is refused once expired.
			wantErr(t, what+": Authorize", v.e.Authorize(v.ctx, principals[k.Key.ID], Target{Workspace: ws.ID}), ErrUnauthenticated)
		}
		for _, k := range agentKeys {
			_, err := v.e.AuthenticateAgent(v.ctx, k.Secret.Reveal(), c.Cluster.ID)
			wantErr(t, what+": AuthenticateAgent", err, ErrUnauthenticated)
			wantErr(t, what+": AuthorizeAgent", v.e.AuthorizeAgent(v.ctx, principals[k.Key.ID], c.Cluster.ID), ErrUnauthenticated)
		}
		// Keys without expiry are unaffected.
		v.authn(forever)
		v.authn(*c.AgentKey)
	}
	// An expired key can still be deleted.
	wantErr(t, "DeleteKey(expired key)", v.e.DeleteKey(v.ctx, app.Key.ID), nil)
}

func TestDeleteKey(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	c := v.cluster(ws.ID, "orders", cluster.BYOC)
	keep := v.appKey(ws.ID)

	kinds := []struct {
		name   string
		create func() IssuedKey
	}{
		{"application", func() IssuedKey { return v.appKey(ws.ID) }},
		{"account", func() IssuedKey { return v.accountKey(a.ID) }},
		{"bound agent", func() IssuedKey { return v.agentKey(ws.ID, c.Cluster.ID) }},
		{"agent *", func() IssuedKey { return v.anyAgentKey(ws.ID) }},
	}
	for _, tc := range kinds {
		before := v.st.Len()
		k := tc.create()
		v.authn(k)
		if err := v.e.DeleteKey(v.ctx, k.Key.ID); err != nil {
			t.Fatalf("DeleteKey(%s): %v", tc.name, err)
		}
		if after := v.st.Len(); after != before {
			t.Errorf("DeleteKey(%s) left %d keys in the store, want %d", tc.name, after, before)
		}
		v.refused(tc.name+" key after DeleteKey", k)
		_, err := v.e.AuthenticateAPI(v.ctx, k.Secret.Reveal(), Target{Workspace: ws.ID})
		wantErr(t, tc.name+" key after DeleteKey: AuthenticateAPI", err, ErrUnauthenticated)
		_, err = v.e.AuthenticateAgent(v.ctx, k.Secret.Reveal(), c.Cluster.ID)
		wantErr(t, tc.name+" key after DeleteKey: AuthenticateAgent", err, ErrUnauthenticated)
		_, err = v.e.GetKey(v.ctx, k.Key.ID)
		wantErr(t, tc.name+" key after DeleteKey: GetKey", err, ErrNotFound)
		wantErr(t, tc.name+" key: DeleteKey twice", v.e.DeleteKey(v.ctx, k.Key.ID), ErrNotFound)
	}

	// Deleting a cluster's own agent key leaves the cluster.
	if err := v.e.DeleteKey(v.ctx, c.AgentKey.Key.ID); err != nil {
		t.Fatal(err)
	}
	v.refused("cluster's agent key after DeleteKey", *c.AgentKey)
	got, err := v.e.GetCluster(v.ctx, c.Cluster.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "cluster after deleting its agent key", c.Cluster, got)
	ks, err := v.e.ListKeys(v.ctx, KeyFilter{Cluster: c.Cluster.ID})
	if err != nil || len(ks) != 0 {
		t.Errorf("ListKeys(cluster) after deleting its agent key = %v, %v; want none", ks, err)
	}
	ks, err = v.e.ListKeys(v.ctx, KeyFilter{Workspace: ws.ID})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListKeys(workspace) after the deletes", []Key{keep.Key}, ks)
	ks, err = v.e.ListKeys(v.ctx, KeyFilter{Account: a.ID})
	if err != nil || len(ks) != 0 {
		t.Errorf("ListKeys(account) after the deletes = %v, %v; want none", ks, err)
	}
	v.authn(keep)

	wantErr(t, "DeleteKey(zero)", v.e.DeleteKey(v.ctx, keys.KeyID{}), ErrInvalidArgument)
	unknown, _ := keys.NewKeyID()
	wantErr(t, "DeleteKey(unknown)", v.e.DeleteKey(v.ctx, unknown), ErrNotFound)
	_, err = v.e.GetKey(v.ctx, keys.KeyID{})
	wantErr(t, "GetKey(zero)", err, ErrInvalidArgument)
	_, err = v.e.GetKey(v.ctx, unknown)
	wantErr(t, "GetKey(unknown)", err, ErrNotFound)
}

func TestListKeys(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	b := v.account("globex")
	ws1 := v.workspace(a.ID, "prod")
	ws2 := v.workspace(a.ID, "staging")
	c1 := v.cluster(ws1.ID, "east", cluster.BYOC)
	c2 := v.cluster(ws1.ID, "west", cluster.BYOCSchemaRegistry)
	sl := v.cluster(ws1.ID, "hosted", cluster.Serverless)

	var apps1, agents1, bound1, accts []Key
	for range 3 {
		apps1 = append(apps1, v.appKey(ws1.ID).Key)
	}
	for range 2 {
		agents1 = append(agents1, v.anyAgentKey(ws1.ID).Key)
	}
	extra := v.agentKey(ws1.ID, c1.Cluster.ID).Key
	bound1 = []Key{c1.AgentKey.Key, extra}
	agents1 = append(agents1, c1.AgentKey.Key, extra, c2.AgentKey.Key)
	app2 := v.appKey(ws2.ID).Key
	for range 2 {
		accts = append(accts, v.accountKey(a.ID).Key)
	}
	acctB := v.accountKey(b.ID).Key

	all1 := append(append([]Key{}, apps1...), agents1...)
	tests := []struct {
		f    KeyFilter
		want []Key
	}{
		{KeyFilter{Account: a.ID}, accts},
		{KeyFilter{Account: a.ID, Kind: KindAccount}, accts},
		{KeyFilter{Account: a.ID, Kind: KindApplication}, nil},
		{KeyFilter{Account: a.ID, Kind: KindAgent}, nil},
		{KeyFilter{Account: b.ID}, []Key{acctB}},
		{KeyFilter{Workspace: ws1.ID}, all1},
		{KeyFilter{Workspace: ws1.ID, Kind: KindApplication}, apps1},
		{KeyFilter{Workspace: ws1.ID, Kind: KindAgent}, agents1},
		{KeyFilter{Workspace: ws1.ID, Kind: KindAccount}, nil},
		{KeyFilter{Workspace: ws2.ID}, []Key{app2}},
		{KeyFilter{Workspace: ws2.ID, Kind: KindAgent}, nil},
		{KeyFilter{Cluster: c1.Cluster.ID}, bound1},
		{KeyFilter{Cluster: c1.Cluster.ID, Kind: KindAgent}, bound1},
		{KeyFilter{Cluster: c1.Cluster.ID, Kind: KindApplication}, nil},
		{KeyFilter{Cluster: c2.Cluster.ID}, []Key{c2.AgentKey.Key}},
		{KeyFilter{Cluster: sl.Cluster.ID}, nil},
	}
	for _, tc := range tests {
		got, err := v.e.ListKeys(v.ctx, tc.f)
		if err != nil {
			t.Errorf("ListKeys(%+v): %v", tc.f, err)
			continue
		}
		diff(t, fmt.Sprintf("ListKeys(%+v)", tc.f), sortedByID(tc.want, keyID), orEmpty(got))
	}

	unknownA, _ := keys.NewAccountID()
	unknownW, _ := keys.NewWorkspaceID()
	unknownC, _ := keys.NewClusterID()
	bad := []struct {
		f    KeyFilter
		want error
	}{
		{KeyFilter{}, ErrInvalidArgument},
		{KeyFilter{Kind: KindApplication}, ErrInvalidArgument},
		{KeyFilter{Account: a.ID, Workspace: ws1.ID}, ErrInvalidArgument},
		{KeyFilter{Account: a.ID, Cluster: c1.Cluster.ID}, ErrInvalidArgument},
		{KeyFilter{Workspace: ws1.ID, Cluster: c1.Cluster.ID}, ErrInvalidArgument},
		{KeyFilter{Account: a.ID, Workspace: ws1.ID, Cluster: c1.Cluster.ID}, ErrInvalidArgument},
		{KeyFilter{Workspace: ws1.ID, Kind: Kind(4)}, ErrInvalidArgument},
		{KeyFilter{Account: a.ID, Kind: Kind(255)}, ErrInvalidArgument},
		{KeyFilter{Cluster: c1.Cluster.ID, Kind: Kind(4)}, ErrInvalidArgument},
		{KeyFilter{Account: unknownA}, ErrNotFound},
		{KeyFilter{Workspace: unknownW}, ErrNotFound},
		{KeyFilter{Cluster: unknownC}, ErrNotFound},
	}
	for _, tc := range bad {
		got, err := v.e.ListKeys(v.ctx, tc.f)
		wantErr(t, fmt.Sprintf("ListKeys(%+v)", tc.f), err, tc.want)
		if got != nil {
			t.Errorf("ListKeys(%+v) refused, yet returned %v", tc.f, got)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{
		KindAccount: "account", KindApplication: "application", KindAgent: "agent",
		0: "auth.Kind(0)", 4: "auth.Kind(4)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}

func TestFarFutureExpiry(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	last := time.Unix(0, math.MaxInt64)
	k, err := v.e.CreateApplicationKey(v.ctx, ws.ID, "akn_longlived", last)
	if err != nil {
		t.Fatalf("expiry at the last representable instant: %v", err)
	}
	if !k.Key.ExpiresAt.Equal(last) {
		t.Errorf("expiry reads back %v, want %v", k.Key.ExpiresAt, last)
	}
	if _, err := v.e.Authenticate(v.ctx, k.Secret.Reveal()); err != nil {
		t.Errorf("Authenticate of a key expiring in 2262: %v", err)
	}
	for _, exp := range []time.Time{
		last.Add(time.Nanosecond),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	} {
		before := v.st.Len()
		_, err := v.e.CreateApplicationKey(v.ctx, ws.ID, "akn_longlived", exp)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("expiry %v: got %v, want ErrInvalidArgument", exp, err)
		}
		if v.st.Len() != before {
			t.Errorf("expiry %v: refused create wrote to the store", exp)
		}
	}
}
