package auth_test

// Helpers of the crash tests (crash_test.go): the workload, the protocol of
// acknowledgement lines it writes, the model the parent builds from them,
// and the checker that compares a recovered store with the model.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/keys"
)

// The protocol. The workload writes one line, with one Write, before each
// operation ("begin") and one after it returned successfully ("ack"):
//
//	crashack begin cluster <name>       crashack ack cluster <cluster id> <agent key id> <secret>
//	crashack begin appkey               crashack ack appkey <key id> <secret>
//	crashack begin agentkey <cluster>   crashack ack agentkey <key id> <cluster id> <secret>
//	crashack begin delkey <key id>      crashack ack delkey <key id>
//	crashack begin delcluster <cluster> crashack ack delcluster <cluster id>
//
// The lines carry secrets: they go only to the parent test process (or an
// in-memory recorder) and are never logged. A line that does not start with
// crashTag is other output of the child (the testing package's).
const crashTag = "crashack"

// The operations of the workload, as named in the protocol.
const (
	opCluster    = "cluster"
	opAppKey     = "appkey"
	opAgentKey   = "agentkey"
	opDelKey     = "delkey"
	opDelCluster = "delcluster"
)

const (
	crashAgentKeyName = "akn_agent" // the agent key CreateCluster issues
	crashExtraKeyName = "akn_agent_extra"
	crashAppKeyName   = "akn_app"
	// crashMaxLiveKeys bounds the workspace's keys: above it the workload
	// only deletes, so that rounds accumulate state without growing forever.
	crashMaxLiveKeys = 40
	crashMaxClusters = 16
)

// writeProtocolLine writes one protocol line with a single Write, so that a
// kill never leaves half a line (a pipe write under PIPE_BUF is atomic).
func writeProtocolLine(w io.Writer, fields ...string) error {
	_, err := io.WriteString(w, crashTag+" "+strings.Join(fields, " ")+"\n")
	return err
}

// crashWorkload runs random operations on one workspace through an engine
// and writes the protocol lines of each.
type crashWorkload struct {
	ctx      context.Context
	e        *auth.Engine
	ws       keys.WorkspaceID
	rng      *rand.Rand
	out      io.Writer
	prefix   string // makes this run's cluster names unique
	n        int    // clusters created by this run
	clusters []keys.ClusterID
	keys     []keys.KeyID
	boundTo  map[keys.KeyID]keys.ClusterID
}

// newCrashWorkload starts a workload on the state the store holds now.
func newCrashWorkload(ctx context.Context, e *auth.Engine, ws keys.WorkspaceID, seed uint64, out io.Writer) (*crashWorkload, error) {
	w := &crashWorkload{
		ctx: ctx, e: e, ws: ws, out: out,
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		prefix:  fmt.Sprintf("c%016x", seed),
		boundTo: map[keys.KeyID]keys.ClusterID{},
	}
	cls, err := e.ListClusters(ctx, ws)
	if err != nil {
		return nil, fmt.Errorf("listing clusters: %w", err)
	}
	for _, c := range cls {
		w.clusters = append(w.clusters, c.ID)
	}
	ks, err := e.ListKeys(ctx, auth.KeyFilter{Workspace: ws})
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	for _, k := range ks {
		w.keys = append(w.keys, k.ID)
		if c, ok := boundCluster(k); ok {
			w.boundTo[k.ID] = c
		}
	}
	return w, nil
}

// step runs one random operation. Above crashMaxLiveKeys keys it only
// deletes, and it creates no cluster above crashMaxClusters.
func (w *crashWorkload) step() error {
	r := w.rng.IntN(12)
	if len(w.keys) >= crashMaxLiveKeys {
		if r < 3 && len(w.clusters) > 0 {
			return w.deleteCluster()
		}
		return w.deleteKey()
	}
	switch {
	case r < 1 && len(w.clusters) > 0:
		return w.deleteCluster()
	case r < 4 && len(w.keys) > 0:
		return w.deleteKey()
	case r < 7 && len(w.clusters) < crashMaxClusters:
		return w.createCluster()
	case r < 9 && len(w.clusters) > 0:
		return w.createAgentKey()
	default:
		return w.createAppKey()
	}
}

func (w *crashWorkload) line(fields ...string) error { return writeProtocolLine(w.out, fields...) }

func (w *crashWorkload) createCluster() error {
	w.n++
	name := fmt.Sprintf("%s-%d", w.prefix, w.n)
	if err := w.line("begin", opCluster, name); err != nil {
		return err
	}
	c, err := w.e.CreateCluster(w.ctx, w.ws, auth.ClusterSpec{Name: name, Type: cluster.BYOC})
	if err != nil {
		return fmt.Errorf("CreateCluster: %w", err)
	}
	if c.AgentKey == nil {
		return errors.New("CreateCluster of a BYOC cluster issued no agent key")
	}
	w.clusters = append(w.clusters, c.Cluster.ID)
	w.keys = append(w.keys, c.AgentKey.Key.ID)
	w.boundTo[c.AgentKey.Key.ID] = c.Cluster.ID
	return w.line("ack", opCluster, c.Cluster.ID.String(), c.AgentKey.Key.ID.String(), c.AgentKey.Secret.Reveal())
}

func (w *crashWorkload) createAppKey() error {
	if err := w.line("begin", opAppKey); err != nil {
		return err
	}
	k, err := w.e.CreateApplicationKey(w.ctx, w.ws, crashAppKeyName, time.Time{})
	if err != nil {
		return fmt.Errorf("CreateApplicationKey: %w", err)
	}
	w.keys = append(w.keys, k.Key.ID)
	return w.line("ack", opAppKey, k.Key.ID.String(), k.Secret.Reveal())
}

func (w *crashWorkload) createAgentKey() error {
	c := w.clusters[w.rng.IntN(len(w.clusters))]
	if err := w.line("begin", opAgentKey, c.String()); err != nil {
		return err
	}
	k, err := w.e.CreateAgentKey(w.ctx, w.ws, c, crashExtraKeyName, time.Time{})
	if err != nil {
		return fmt.Errorf("CreateAgentKey: %w", err)
	}
	w.keys = append(w.keys, k.Key.ID)
	w.boundTo[k.Key.ID] = c
	return w.line("ack", opAgentKey, k.Key.ID.String(), c.String(), k.Secret.Reveal())
}

// deleteKey deletes any key of the workspace, the agent keys CreateCluster
// issued included.
func (w *crashWorkload) deleteKey() error {
	i := w.rng.IntN(len(w.keys))
	id := w.keys[i]
	if err := w.line("begin", opDelKey, id.String()); err != nil {
		return err
	}
	if err := w.e.DeleteKey(w.ctx, id); err != nil {
		return fmt.Errorf("DeleteKey %v: %w", id, err)
	}
	w.keys = slices.Delete(w.keys, i, i+1)
	delete(w.boundTo, id)
	return w.line("ack", opDelKey, id.String())
}

func (w *crashWorkload) deleteCluster() error {
	i := w.rng.IntN(len(w.clusters))
	c := w.clusters[i]
	if err := w.line("begin", opDelCluster, c.String()); err != nil {
		return err
	}
	if err := w.e.DeleteCluster(w.ctx, c); err != nil {
		return fmt.Errorf("DeleteCluster %v: %w", c, err)
	}
	w.clusters = slices.Delete(w.clusters, i, i+1)
	w.keys = slices.DeleteFunc(w.keys, func(k keys.KeyID) bool { return w.boundTo[k] == c })
	for k, bc := range w.boundTo {
		if bc == c {
			delete(w.boundTo, k)
		}
	}
	return w.line("ack", opDelCluster, c.String())
}

// boundCluster returns the cluster an agent key is bound to, if any.
func boundCluster(k auth.Key) (keys.ClusterID, bool) {
	if k.Grant.Principal != auth.KindAgent || k.Grant.ResourceID == auth.AnyID {
		return keys.ClusterID{}, false
	}
	c, err := keys.ParseClusterID(k.Grant.ResourceID)
	return c, err == nil
}

// crashRecorder is an io.Writer that keeps the protocol lines in memory, for
// the in-process control runs. Holding its lock stops the workload at its
// next line.
type crashRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *crashRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// crashStatus is what the model knows of a cluster or key.
type crashStatus int

const (
	crashLive    crashStatus = iota // creation acknowledged (or observed), no delete
	crashDeleted                    // delete acknowledged (or observed)
)

type crashCluster struct {
	id       keys.ClusterID
	name     string
	agentKey keys.KeyID // the agent key CreateCluster issued
	crashEntity
}

type crashKey struct {
	id      keys.KeyID
	kind    auth.Kind
	cluster keys.ClusterID // zero for an application key
	secret  keys.Secret    // zero if its creation was observed, not acknowledged
	crashEntity
}

// crashEntity is the life of a cluster or key in the model.
type crashEntity struct {
	status    crashStatus
	serial    int // order of creation in the model
	deletedIn int // the round its deletion was acknowledged or observed
}

// crashRecheckEvery is how often, in rounds, the checker looks again at a
// deletion older than the previous round: each round checks every live
// entity, every deletion of this round and the previous one, and a
// rotating crashRecheckEvery-th of the older ones. Without it, each round
// would cost as much as all the rounds before it.
const crashRecheckEvery = 8

// checkedIn reports whether the checker looks at the entity in round r.
func (en *crashEntity) checkedIn(r int) bool {
	return en.status == crashLive || r-en.deletedIn < 2 || en.serial%crashRecheckEvery == r%crashRecheckEvery
}

// crashOp is an operation that began and was not acknowledged: it may have
// happened or not.
type crashOp struct {
	op  string
	arg string // cluster name, cluster id or key id; "" for appkey
}

func (o *crashOp) String() string {
	if o == nil {
		return "none"
	}
	return strings.TrimSpace(o.op + " " + o.arg)
}

// crashModel is what the parent knows the workload did, across rounds.
type crashModel struct {
	ws       keys.WorkspaceID
	clusters map[keys.ClusterID]*crashCluster
	keys     map[keys.KeyID]*crashKey
	inFlight *crashOp // at most one: the workload is sequential
	round    int      // the current round, set by the caller
	// unacked counts the in-flight operations settled, unackedHappened
	// those of them the store held after the crash.
	unacked, unackedHappened int
}

func newCrashModel(ws keys.WorkspaceID) *crashModel {
	return &crashModel{ws: ws, clusters: map[keys.ClusterID]*crashCluster{}, keys: map[keys.KeyID]*crashKey{}}
}

// applyLines applies protocol lines; other lines are ignored. It reports
// how many acknowledgements it applied. Its errors never quote a line.
func (m *crashModel) applyLines(lines []string) (int, error) {
	n := 0
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) < 3 || f[0] != crashTag {
			continue
		}
		var err error
		switch f[1] {
		case "begin":
			err = m.begin(f[2:])
		case "ack":
			err = m.ack(f[2], f[3:])
			n++
		default:
			err = errors.New("neither begin nor ack")
		}
		if err != nil {
			return n, fmt.Errorf("protocol line %d (%s): %w", i, f[2], err)
		}
	}
	return n, nil
}

func (m *crashModel) begin(f []string) error {
	if m.inFlight != nil {
		return fmt.Errorf("begins while %v is in flight", m.inFlight)
	}
	op := &crashOp{op: f[0]}
	if len(f) > 1 {
		op.arg = f[1]
	}
	m.inFlight = op
	return nil
}

func (m *crashModel) ack(op string, args []string) error {
	if m.inFlight == nil || m.inFlight.op != op {
		return fmt.Errorf("acknowledges an operation that did not begin (in flight: %v)", m.inFlight)
	}
	want := map[string]int{opCluster: 3, opAppKey: 2, opAgentKey: 3, opDelKey: 1, opDelCluster: 1}[op]
	if len(args) != want {
		return fmt.Errorf("%d fields, want %d", len(args), want)
	}
	var err error
	switch op {
	case opCluster:
		err = m.ackCluster(args[0], args[1], args[2])
	case opAppKey:
		err = m.ackKey(args[0], "", args[1])
	case opAgentKey:
		err = m.ackKey(args[0], args[1], args[2])
	case opDelKey:
		err = m.ackDelKey(args[0])
	case opDelCluster:
		err = m.ackDelCluster(args[0])
	}
	if err != nil {
		return err
	}
	m.inFlight = nil
	return nil
}

func (m *crashModel) ackCluster(cid, kid, secret string) error {
	c, err := keys.ParseClusterID(cid)
	if err != nil {
		return err
	}
	k, err := m.newKey(kid, cid, secret)
	if err != nil {
		return err
	}
	m.clusters[c] = &crashCluster{id: c, name: m.inFlight.arg, agentKey: k.id, crashEntity: m.newEntity()}
	return nil
}

func (m *crashModel) ackKey(kid, cid, secret string) error {
	_, err := m.newKey(kid, cid, secret)
	return err
}

// newKey adds an acknowledged key; cid is its cluster, "" for an
// application key.
func (m *crashModel) newKey(kid, cid, secret string) (*crashKey, error) {
	id, err := keys.ParseKeyID(kid)
	if err != nil {
		return nil, err
	}
	s, err := keys.ParseSecret(secret)
	if err != nil {
		return nil, fmt.Errorf("key %v: malformed secret", id)
	}
	k := &crashKey{id: id, kind: auth.KindApplication, secret: s, crashEntity: m.newEntity()}
	if cid != "" {
		if k.cluster, err = keys.ParseClusterID(cid); err != nil {
			return nil, err
		}
		k.kind = auth.KindAgent
	}
	if _, dup := m.keys[id]; dup {
		return nil, fmt.Errorf("key %v created twice", id)
	}
	m.keys[id] = k
	return k, nil
}

func (m *crashModel) ackDelKey(kid string) error {
	id, err := keys.ParseKeyID(kid)
	if err != nil {
		return err
	}
	k, ok := m.keys[id]
	if !ok || k.status != crashLive {
		return fmt.Errorf("delete of key %v, not live in the model", id)
	}
	m.deleteKey(k)
	return nil
}

func (m *crashModel) newEntity() crashEntity {
	return crashEntity{serial: len(m.keys) + len(m.clusters)}
}

func (m *crashModel) deleteKey(k *crashKey) {
	if k.status != crashDeleted {
		k.status, k.deletedIn = crashDeleted, m.round
	}
}

func (m *crashModel) ackDelCluster(cid string) error {
	id, err := keys.ParseClusterID(cid)
	if err != nil {
		return err
	}
	c, ok := m.clusters[id]
	if !ok || c.status != crashLive {
		return fmt.Errorf("delete of cluster %v, not live in the model", id)
	}
	m.deleteCluster(c)
	return nil
}

// deleteCluster marks a cluster deleted with every agent key bound to it.
func (m *crashModel) deleteCluster(c *crashCluster) {
	c.status, c.deletedIn = crashDeleted, m.round
	for _, k := range m.keys {
		if k.cluster == c.id {
			m.deleteKey(k)
		}
	}
}

// uncertain reports whether the in-flight operation may have deleted k
// (directly or with its cluster).
func (m *crashModel) uncertain(k *crashKey) bool {
	op := m.inFlight
	return op != nil && ((op.op == opDelKey && op.arg == k.id.String()) ||
		(op.op == opDelCluster && !k.cluster.IsZero() && op.arg == k.cluster.String()))
}

func (m *crashModel) uncertainCluster(c *crashCluster) bool {
	return m.inFlight != nil && m.inFlight.op == opDelCluster && m.inFlight.arg == c.id.String()
}

// settle resolves the in-flight operation from what the store now holds:
// after a recovery that outcome is fixed. Run it after a clean check.
func (m *crashModel) settle(ctx context.Context, e *auth.Engine) error {
	op := m.inFlight
	if op == nil {
		return nil
	}
	m.inFlight = nil
	m.unacked++
	var err error
	switch op.op {
	case opDelKey:
		id, _ := keys.ParseKeyID(op.arg)
		if _, err = e.GetKey(ctx, id); errors.Is(err, auth.ErrNotFound) {
			m.deleteKey(m.keys[id])
			m.unackedHappened++
			return nil
		}
	case opDelCluster:
		id, _ := keys.ParseClusterID(op.arg)
		if _, err = e.GetCluster(ctx, id); errors.Is(err, auth.ErrNotFound) {
			m.deleteCluster(m.clusters[id])
			m.unackedHappened++
			return nil
		}
	default:
		err = m.adoptCreated(ctx, e)
	}
	return err
}

// adoptCreated adds to the model the clusters and keys of the workspace it
// does not know: those an unacknowledged create made. Their secrets are
// unknown.
func (m *crashModel) adoptCreated(ctx context.Context, e *auth.Engine) error {
	cls, err := e.ListClusters(ctx, m.ws)
	if err != nil {
		return err
	}
	ks, err := e.ListKeys(ctx, auth.KeyFilter{Workspace: m.ws})
	if err != nil {
		return err
	}
	adopted := false
	for _, k := range ks {
		if _, ok := m.keys[k.ID]; !ok {
			c, _ := boundCluster(k)
			m.keys[k.ID] = &crashKey{id: k.ID, kind: k.Grant.Principal, cluster: c, crashEntity: m.newEntity()}
			adopted = true
		}
	}
	for _, c := range cls {
		if _, ok := m.clusters[c.ID]; ok {
			continue
		}
		mc := &crashCluster{id: c.ID, name: c.Name, crashEntity: m.newEntity()}
		for _, k := range ks {
			if bc, _ := boundCluster(k); bc == c.ID && k.Name == crashAgentKeyName {
				mc.agentKey = k.ID
			}
		}
		m.clusters[c.ID] = mc
	}
	if adopted {
		m.unackedHappened++
	}
	return nil
}

// checkCrash compares a recovered store, through an engine over it, with
// the model: every acknowledged create that was not deleted is there (and
// its key authenticates), every acknowledged delete holds, the in-flight
// operation happened wholly or not at all, and the store is consistent.
// It returns the problems found, which hold ids but never a secret.
func checkCrash(ctx context.Context, e *auth.Engine, m *crashModel) []string {
	c := &crashChecker{ctx: ctx, e: e, m: m}
	if !c.readListings() {
		return c.problems
	}
	c.checkClusters()
	c.checkKeys()
	c.checkUnknown()
	return c.problems
}

// formatProblems shows checkCrash's problems in order, the first 30 of them.
func formatProblems(problems []string) string {
	const most = 30
	problems = slices.Sorted(slices.Values(problems))
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(problems))
	for _, p := range problems[:min(len(problems), most)] {
		b.WriteString("\n" + p)
	}
	if len(problems) > most {
		fmt.Fprintf(&b, "\n... and %d more", len(problems)-most)
	}
	return b.String()
}

type crashChecker struct {
	ctx      context.Context
	e        *auth.Engine
	m        *crashModel
	problems []string
	clusters map[keys.ClusterID]auth.Cluster // listed
	keys     map[keys.KeyID]auth.Key         // listed for the workspace
	bound    map[keys.ClusterID][]auth.Key   // listed for each cluster
}

func (c *crashChecker) problemf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// readListings lists the workspace's clusters and keys and checks that the
// listings agree with Get and with each other.
func (c *crashChecker) readListings() bool {
	c.clusters, c.keys, c.bound = map[keys.ClusterID]auth.Cluster{}, map[keys.KeyID]auth.Key{}, map[keys.ClusterID][]auth.Key{}
	cls, err := c.e.ListClusters(c.ctx, c.m.ws)
	if err != nil {
		c.problemf("ListClusters of workspace %v: %v", c.m.ws, err)
		return false
	}
	for _, cl := range cls {
		c.clusters[cl.ID] = cl
		got, err := c.e.GetCluster(c.ctx, cl.ID)
		switch {
		case err != nil:
			c.problemf("cluster %v is listed but GetCluster fails: %v", cl.ID, err)
		case got != cl:
			c.problemf("cluster %v: ListClusters and GetCluster disagree", cl.ID)
		case cl.Workspace != c.m.ws || cl.Type != cluster.BYOC:
			c.problemf("cluster %v listed in workspace %v is of workspace %v, type %v", cl.ID, c.m.ws, cl.Workspace, cl.Type)
		}
	}
	ks, err := c.e.ListKeys(c.ctx, auth.KeyFilter{Workspace: c.m.ws})
	if err != nil {
		c.problemf("ListKeys of workspace %v: %v", c.m.ws, err)
		return false
	}
	for _, k := range ks {
		c.keys[k.ID] = k
		c.checkListedKey(k)
	}
	for id := range c.clusters {
		c.checkBoundListing(id)
	}
	return true
}

func (c *crashChecker) checkListedKey(k auth.Key) {
	got, err := c.e.GetKey(c.ctx, k.ID)
	switch {
	case err != nil:
		c.problemf("key %v is listed but GetKey fails: %v", k.ID, err)
	case got != k:
		c.problemf("key %v: ListKeys and GetKey disagree", k.ID)
	}
	if cid, ok := boundCluster(k); ok {
		if _, ok := c.clusters[cid]; !ok {
			c.problemf("agent key %v is bound to missing cluster %v", k.ID, cid)
		}
	}
}

// checkBoundListing checks ListKeys of a cluster against the workspace's
// listing.
func (c *crashChecker) checkBoundListing(id keys.ClusterID) {
	bound, err := c.e.ListKeys(c.ctx, auth.KeyFilter{Cluster: id})
	if err != nil {
		c.problemf("ListKeys of cluster %v: %v", id, err)
		return
	}
	c.bound[id] = bound
	for _, k := range bound {
		if bc, _ := boundCluster(k); bc != id || c.keys[k.ID] != k {
			c.problemf("key %v listed for cluster %v is not bound to it in the workspace's listing", k.ID, id)
		}
	}
	n := 0
	for _, k := range c.keys {
		if bc, _ := boundCluster(k); bc == id {
			n++
		}
	}
	if n != len(bound) {
		c.problemf("cluster %v: %d keys listed for it, %d bound to it in the workspace's listing", id, len(bound), n)
	}
}

// checkClusters checks every cluster of the model against the store.
func (c *crashChecker) checkClusters() {
	for id, mc := range c.m.clusters {
		if !mc.checkedIn(c.m.round) {
			continue
		}
		_, listed := c.clusters[id]
		_, err := c.e.GetCluster(c.ctx, id)
		if err != nil && !errors.Is(err, auth.ErrNotFound) {
			c.problemf("GetCluster %v: %v", id, err)
			continue
		}
		exists := err == nil
		switch {
		case exists != listed:
			c.problemf("cluster %v: GetCluster finds it: %v, ListClusters lists it: %v", id, exists, listed)
		case c.m.uncertainCluster(mc):
			c.checkDeleteClusterAtomic(mc, exists)
		case mc.status == crashLive && !exists:
			c.problemf("cluster %v: acknowledged created, never deleted, but lost (GetCluster: %v)", id, err)
		case mc.status == crashDeleted && exists:
			c.problemf("cluster %v: acknowledged deleted, but still there", id)
		}
		if exists {
			c.checkAgentKeyBound(mc)
		}
	}
}

// checkDeleteClusterAtomic checks that an in-flight DeleteCluster took its
// bound keys with it, or left them all.
func (c *crashChecker) checkDeleteClusterAtomic(mc *crashCluster, exists bool) {
	for id, k := range c.m.keys {
		if k.cluster != mc.id || k.status != crashLive {
			continue
		}
		if _, there := c.keys[id]; there != exists {
			c.problemf("in-flight DeleteCluster %v half applied: cluster there: %v, its key %v there: %v", mc.id, exists, id, there)
		}
	}
}

// checkAgentKeyBound checks that an existing cluster still has its agent
// key "akn_agent" bound to it, unless the workload deleted that key.
func (c *crashChecker) checkAgentKeyBound(mc *crashCluster) {
	k, ok := c.m.keys[mc.agentKey]
	if !ok {
		c.problemf("cluster %v: the model has no agent key for it", mc.id)
		return
	}
	if k.status != crashLive || c.m.uncertain(k) {
		return
	}
	for _, b := range c.bound[mc.id] {
		if b.ID == k.id && b.Name == crashAgentKeyName {
			return
		}
	}
	c.problemf("cluster %v: its agent key %v (%s) is not bound to it", mc.id, k.id, crashAgentKeyName)
}

// checkKeys checks every key of the model against the store, and that
// each key with a known secret authenticates exactly when it exists.
func (c *crashChecker) checkKeys() {
	for id, mk := range c.m.keys {
		if !mk.checkedIn(c.m.round) {
			continue
		}
		_, listed := c.keys[id]
		got, err := c.e.GetKey(c.ctx, id)
		if err != nil && !errors.Is(err, auth.ErrNotFound) {
			c.problemf("GetKey %v: %v", id, err)
			continue
		}
		exists := err == nil
		if exists != listed {
			c.problemf("key %v: GetKey finds it: %v, ListKeys lists it: %v", id, exists, listed)
		}
		if exists {
			c.checkKeyFields(mk, got)
		}
		authenticates := c.authenticates(mk)
		switch {
		case c.m.uncertain(mk):
		case mk.status == crashLive && !exists:
			c.problemf("key %v: acknowledged created, never deleted, but lost (GetKey: %v)", id, err)
		case mk.status == crashDeleted && exists:
			c.problemf("key %v: acknowledged deleted, but GetKey still finds it", id)
		}
		if !mk.secret.IsZero() && authenticates != exists {
			c.problemf("key %v: GetKey finds it: %v, but its secret authenticates: %v", id, exists, authenticates)
		}
	}
}

func (c *crashChecker) checkKeyFields(mk *crashKey, got auth.Key) {
	bc, _ := boundCluster(got)
	if got.Grant.Principal != mk.kind || bc != mk.cluster || got.Grant.Workspace != c.m.ws {
		c.problemf("key %v: stored as a %v key of cluster %v, want %v of cluster %v", mk.id, got.Grant.Principal, bc, mk.kind, mk.cluster)
	}
}

// authenticates reports whether the key's secret authenticates as the key;
// false for a key whose secret the model does not know.
func (c *crashChecker) authenticates(mk *crashKey) bool {
	if mk.secret.IsZero() {
		return false
	}
	p, err := c.e.Authenticate(c.ctx, mk.secret.Reveal())
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		return false
	case err != nil:
		c.problemf("key %v: Authenticate: %v", mk.id, err)
		return false
	case p.Key != mk.id || p.Kind != mk.kind || p.Cluster != mk.cluster:
		c.problemf("key %v does not authenticate as itself but as key %v", mk.id, p.Key)
	}
	return true
}

// checkUnknown checks that what the store holds and the model does not know
// is what the in-flight create made, whole.
func (c *crashChecker) checkUnknown() {
	var newClusters []auth.Cluster
	var newKeys []auth.Key
	for id, cl := range c.clusters {
		if _, ok := c.m.clusters[id]; !ok {
			newClusters = append(newClusters, cl)
		}
	}
	for id, k := range c.keys {
		if _, ok := c.m.keys[id]; !ok {
			newKeys = append(newKeys, k)
		}
	}
	if len(newClusters) == 0 && len(newKeys) == 0 {
		return
	}
	op := c.m.inFlight
	if op == nil || len(newClusters) > 1 || len(newKeys) != 1 {
		c.problemf("store holds %d clusters and %d keys never acknowledged; in flight: %v", len(newClusters), len(newKeys), op)
		return
	}
	k := newKeys[0]
	bc, _ := boundCluster(k)
	var ok bool
	switch op.op {
	case opCluster:
		ok = len(newClusters) == 1 && newClusters[0].Name == op.arg && bc == newClusters[0].ID && k.Name == crashAgentKeyName
	case opAppKey:
		ok = len(newClusters) == 0 && k.Grant.Principal == auth.KindApplication
	case opAgentKey:
		ok = len(newClusters) == 0 && k.Grant.Principal == auth.KindAgent && bc.String() == op.arg
	}
	if !ok {
		c.problemf("store holds a cluster or key never acknowledged (key %v) that the in-flight %v does not explain", k.ID, op)
	}
}
