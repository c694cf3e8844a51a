package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store/memstore"
)

// The authorization fixture: one account of authzWorkspaces workspaces,
// each with authzClusters BYOC clusters (each with the one agent key
// CreateCluster issues) and authzAppKeys application keys. As a casbin
// policy (see casbinPolicy) that is 40 × (18 + 2) = 800 g lines and
// 40 × (4 + 2) = 240 p lines: 1,040 in all.
const (
	authzWorkspaces = 40
	authzClusters   = 2
	authzAppKeys    = 18
	// authzQuestions is how many distinct allowed questions the
	// authorization benchmarks cycle through: one per workspace, for
	// workspaces spread evenly over the 40, each by another application
	// key and about one of its two clusters. Spread, because casbin's
	// enforcer evaluates the policy lines in order and stops at the first
	// that allows: questions about the first workspaces only would
	// flatter it. Every question is in a CachedEnforcer's cache after the
	// first round.
	authzQuestions = 16
)

// authzWorkspace is one workspace of the authorization fixture.
type authzWorkspace struct {
	id        keys.WorkspaceID
	clusters  [authzClusters]keys.ClusterID
	agents    [authzClusters]keys.KeyID // the agent key of each cluster
	agentSecs [authzClusters]string
	apps      [authzAppKeys]keys.KeyID
	appSecs   [authzAppKeys]string
}

// authzQuestion is one allowed question, asked of our engine and of
// casbin: may application key app act on cluster c of its workspace (and
// may agent key agent act for c as its agent)?
type authzQuestion struct {
	app, agent    auth.Principal // from Authenticate, before the timer
	c             keys.ClusterID
	sub, dom, obj string // casbin's request for app (act is authzAct)
	agentSub      string // casbin's subject for agent; checked before the timer
}

// authzAct is the action every casbin question asks about: a write on a
// cluster, which the application role holds on every cluster of its
// workspace.
const authzAct = "write"

type authzFixture struct {
	e         *auth.Engine
	ws        []authzWorkspace
	questions []authzQuestion
}

// authzFixtureOnce builds the authorization fixture once per process,
// through the engine's public API over a memory store.
var authzFixtureOnce = sync.OnceValues(func() (*authzFixture, error) {
	ctx := context.Background()
	e, err := auth.New(ctx, memstore.New(), auth.Options{})
	if err != nil {
		return nil, err
	}
	acct, err := e.CreateAccount(ctx, "bench account")
	if err != nil {
		return nil, err
	}
	f := &authzFixture{e: e, ws: make([]authzWorkspace, authzWorkspaces)}
	for i := range f.ws {
		w := &f.ws[i]
		ws, err := e.CreateWorkspace(ctx, acct.ID, fmt.Sprintf("bench workspace %d", i))
		if err != nil {
			return nil, err
		}
		w.id = ws.ID
		for j := range w.clusters {
			c, err := e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: fmt.Sprintf("bench %d", j), Type: cluster.BYOC})
			if err != nil {
				return nil, err
			}
			w.clusters[j], w.agents[j], w.agentSecs[j] = c.Cluster.ID, c.AgentKey.Key.ID, c.AgentKey.Secret.Reveal()
		}
		for j := range w.apps {
			k, err := e.CreateApplicationKey(ctx, ws.ID, keyName, time.Time{})
			if err != nil {
				return nil, err
			}
			w.apps[j], w.appSecs[j] = k.Key.ID, k.Secret.Reveal()
		}
	}
	for i := range authzQuestions {
		w := &f.ws[i*authzWorkspaces/authzQuestions]
		app, agent := i%authzAppKeys, i%authzClusters
		q := authzQuestion{c: w.clusters[agent]}
		if q.app, err = e.Authenticate(ctx, w.appSecs[app]); err != nil {
			return nil, fmt.Errorf("application key of question %d: %w", i, err)
		}
		if q.agent, err = e.Authenticate(ctx, w.agentSecs[agent]); err != nil {
			return nil, fmt.Errorf("agent key of question %d: %w", i, err)
		}
		q.sub, q.dom, q.obj = w.apps[app].String(), w.id.String(), clusterObject(w.id, q.c)
		q.agentSub = w.agents[agent].String()
		f.questions = append(f.questions, q)
	}
	return f, nil
})

func authzFixtureFor(b *testing.B) *authzFixture {
	b.Helper()
	f, err := authzFixtureOnce()
	if err != nil {
		b.Fatalf("building the authorization fixture: %v", err)
	}
	return f
}

// BenchmarkAuthorize measures our authorization decisions over the
// authorization fixture (memory store, default options), cycling through
// authzQuestions allowed questions: api is Engine.Authorize of an
// application key's principal on one of its workspace's clusters (a
// public-API Target of a cluster, whose scope the engine remembers after
// the first round, before the timer); agent is Engine.AuthorizeAgent of a
// cluster's agent key on that cluster. The principals come from
// Authenticate before the timer starts.
func BenchmarkAuthorize(b *testing.B) {
	f := authzFixtureFor(b)
	ctx := context.Background()
	b.Run("api", func(b *testing.B) {
		qs := f.questions
		for i := range qs {
			if err := f.e.Authorize(ctx, qs[i].app, auth.Target{Cluster: qs[i].c}); err != nil {
				b.Fatalf("question %d: Authorize = %v, want allowed", i, err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		j := 0
		for range b.N {
			if err := f.e.Authorize(ctx, qs[j].app, auth.Target{Cluster: qs[j].c}); err != nil {
				b.Fatalf("question %d: Authorize = %v, want allowed", j, err)
			}
			if j++; j == len(qs) {
				j = 0
			}
		}
	})
	b.Run("agent", func(b *testing.B) {
		qs := f.questions
		for i := range qs {
			if err := f.e.AuthorizeAgent(ctx, qs[i].agent, qs[i].c); err != nil {
				b.Fatalf("question %d: AuthorizeAgent = %v, want allowed", i, err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		j := 0
		for range b.N {
			if err := f.e.AuthorizeAgent(ctx, qs[j].agent, qs[j].c); err != nil {
				b.Fatalf("question %d: AuthorizeAgent = %v, want allowed", j, err)
			}
			if j++; j == len(qs) {
				j = 0
			}
		}
	})
}

// casbinModel is RBAC with domains: a subject holds a role within a
// domain (a workspace), and a role's permissions are (domain, object
// pattern, action) triples.
const casbinModel = `
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && keyMatch(r.obj, p.obj) && r.act == p.act
`

// The casbin roles: every application key of a workspace holds
// casbinAppRole in it; the agent key of cluster c holds "agent:<c>".
const casbinAppRole = "application"

func clusterObject(ws keys.WorkspaceID, c keys.ClusterID) string {
	return "/workspaces/" + ws.String() + "/clusters/" + c.String()
}

// casbinPolicy returns the casbin policy equivalent to the authorization
// fixture's rules: per workspace, the application role may read and write
// the workspace and every cluster in it (4 p lines), each cluster's agent
// role may act as the cluster's agent (1 p line per cluster), and each key
// holds its role in its workspace (1 g line per key).
func (f *authzFixture) casbinPolicy() (p, g [][]string) {
	for i := range f.ws {
		w := &f.ws[i]
		dom := w.id.String()
		wsObj := "/workspaces/" + dom
		for _, act := range []string{"read", "write"} {
			p = append(p,
				[]string{casbinAppRole, dom, wsObj, act},
				[]string{casbinAppRole, dom, wsObj + "/clusters/*", act})
		}
		for j, c := range w.clusters {
			role := "agent:" + c.String()
			p = append(p, []string{role, dom, clusterObject(w.id, c), "agent"})
			g = append(g, []string{w.agents[j].String(), role, dom})
		}
		for _, k := range w.apps {
			g = append(g, []string{k.String(), casbinAppRole, dom})
		}
	}
	return p, g
}

// casbinEnforcer is what the two casbin enforcers share.
type casbinEnforcer interface {
	AddPolicies(rules [][]string) (bool, error)
	AddGroupingPolicies(rules [][]string) (bool, error)
	Enforce(rvals ...any) (bool, error)
}

// BenchmarkPeerCasbin asks github.com/casbin/casbin/v2 the question
// BenchmarkAuthorize/api asks our engine, over the same fixture turned into
// a casbin policy of 1,040 lines held in memory (no adapter, no file):
// enforcer is a casbin.Enforcer, cached a casbin.CachedEnforcer, both
// cycling through the same authzQuestions questions, so that the cached
// one answers from its cache (warm, after one round before the timer) and
// the plain one evaluates the matcher against the policy every time.
func BenchmarkPeerCasbin(b *testing.B) {
	f := authzFixtureFor(b)
	p, g := f.casbinPolicy()
	for _, tc := range []struct {
		name string
		make func(m model.Model) (casbinEnforcer, error)
	}{
		{"enforcer", func(m model.Model) (casbinEnforcer, error) { return casbin.NewEnforcer(m, false) }},
		{"cached", func(m model.Model) (casbinEnforcer, error) { return casbin.NewCachedEnforcer(m, false) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m, err := model.NewModelFromString(casbinModel)
			if err != nil {
				b.Fatal(err)
			}
			e, err := tc.make(m)
			if err != nil {
				b.Fatal(err)
			}
			if ok, err := e.AddPolicies(p); !ok || err != nil {
				b.Fatalf("adding %d p lines: %v, %v", len(p), ok, err)
			}
			if ok, err := e.AddGroupingPolicies(g); !ok || err != nil {
				b.Fatalf("adding %d g lines: %v, %v", len(g), ok, err)
			}
			qs := f.questions
			for i := range qs {
				q := &qs[i]
				// The question and its agent's are allowed; the same
				// question in another workspace, or by the agent key, is not.
				for _, c := range []struct {
					sub, dom, obj, act string
					want               bool
				}{
					{q.sub, q.dom, q.obj, authzAct, true},
					{q.agentSub, q.dom, q.obj, "agent", true},
					{q.sub, qs[(i+1)%len(qs)].dom, q.obj, authzAct, false},
					{q.agentSub, q.dom, q.obj, authzAct, false},
				} {
					if ok, err := e.Enforce(c.sub, c.dom, c.obj, c.act); ok != c.want || err != nil {
						b.Fatalf("question %d: Enforce(%s) = %v, %v; want %v", i, c.act, ok, err, c.want)
					}
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			j := 0
			for range b.N {
				q := &qs[j]
				if ok, err := e.Enforce(q.sub, q.dom, q.obj, authzAct); !ok || err != nil {
					b.Fatalf("question %d: Enforce = %v, %v; want allowed", j, ok, err)
				}
				if j++; j == len(qs) {
					j = 0
				}
			}
		})
	}
}
