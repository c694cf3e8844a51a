package auth

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/keys"
)

// leakDetector knows every secret issued so far and finds any part of one
// in text or bytes: the revealed text, its 64-hex body, any 16-digit run of
// the body (either case), the 32 raw bytes or any 8 of them in a row, or
// the first 8 raw bytes printed in decimal.
type leakDetector struct {
	texts   []string
	raws    [][]byte
	decs    []string
	hexRuns map[string]int  // 16-digit run of a body → index of its secret
	rawRuns map[[8]byte]int // 8-byte run of the raw bytes → index
}

const hexRun = 16

func newLeakDetector() *leakDetector {
	return &leakDetector{hexRuns: map[string]int{}, rawRuns: map[[8]byte]int{}}
}

func (d *leakDetector) add(t *testing.T, s keys.Secret) {
	t.Helper()
	text := s.Reveal()
	raw, err := hex.DecodeString(text[len(keys.SecretPrefix):])
	if err != nil || len(raw) != 32 {
		t.Fatalf("a revealed secret is not the prefix and 64 hex digits (%d raw bytes, %v)", len(raw), err)
	}
	i := len(d.texts)
	d.texts = append(d.texts, text)
	d.raws = append(d.raws, raw)
	d.decs = append(d.decs, strings.Trim(fmt.Sprint(raw[:8]), "[]"))
	body := text[len(keys.SecretPrefix):]
	for j := 0; j+hexRun <= len(body); j++ {
		d.hexRuns[body[j:j+hexRun]] = i
		d.hexRuns[strings.ToUpper(body[j:j+hexRun])] = i
	}
	for j := 0; j+8 <= len(raw); j++ {
		d.rawRuns[[8]byte(raw[j:j+8])] = i
	}
}

// inText describes the first secret material found in out, or returns "".
func (d *leakDetector) inText(out string) string {
	for i, text := range d.texts {
		switch {
		case strings.Contains(out, text):
			return fmt.Sprintf("secret #%d in full", i)
		case strings.Contains(out, text[len(keys.SecretPrefix):]):
			return fmt.Sprintf("the hex body of secret #%d", i)
		case strings.Contains(out, d.decs[i]):
			return fmt.Sprintf("the first bytes of secret #%d in decimal", i)
		}
	}
	for j := 0; j+hexRun <= len(out); j++ {
		if i, ok := d.hexRuns[out[j:j+hexRun]]; ok {
			return fmt.Sprintf("%d hex digits of secret #%d", hexRun, i)
		}
	}
	return d.inBytes([]byte(out))
}

// inBytes describes the first secret material found in b, or returns "".
func (d *leakDetector) inBytes(b []byte) string {
	for i, text := range d.texts {
		if bytes.Contains(b, []byte(text)) {
			return fmt.Sprintf("secret #%d in full", i)
		}
		if bytes.Contains(b, d.raws[i]) {
			return fmt.Sprintf("the 32 raw bytes of secret #%d", i)
		}
	}
	for j := 0; j+8 <= len(b); j++ {
		if i, ok := d.rawRuns[[8]byte(b[j:j+8])]; ok {
			return fmt.Sprintf("8 raw bytes of secret #%d", i)
		}
	}
	for j := 0; j+hexRun <= len(b); j++ {
		if i, ok := d.hexRuns[string(b[j:j+hexRun])]; ok {
			return fmt.Sprintf("%d hex digits of secret #%d", hexRun, i)
		}
	}
	return ""
}

func TestLeakDetectorFindsLeaks(t *testing.T) {
	s, err := keys.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	d := newLeakDetector()
	d.add(t, s)
	text := s.Reveal()
	body := text[len(keys.SecretPrefix):]
	raw, _ := hex.DecodeString(body)
	for _, out := range []string{
		text,
		"error: " + body + "!",
		"…" + body[20:20+hexRun] + "…",
		strings.ToUpper(body[40 : 40+hexRun]),
		fmt.Sprint(raw),
		string(raw[10:18]),
	} {
		if d.inText(out) == "" {
			t.Errorf("the detector misses a leak in %q", out)
		}
	}
	if d.inBytes(append([]byte("x"), raw[24:]...)) == "" {
		t.Error("the detector misses the last 8 raw bytes")
	}
	if got := d.inText(s.String() + fmt.Sprintf("%v %+v %#v", s, s, s)); got != "" {
		t.Errorf("the detector flags the placeholder: %s", got)
	}
}

// redactEnv is an engine whose every issued secret is tracked, with
// checks that none leaks into an error, an output or the store.
type redactEnv struct {
	*testEnv
	d      *leakDetector
	issued []IssuedKey
}

func (r *redactEnv) track(ks ...IssuedKey) {
	r.t.Helper()
	for _, k := range ks {
		r.d.add(r.t, k.Secret)
		r.issued = append(r.issued, k)
	}
	r.checkStore("after issuing")
}

// checkStore scans the whole store: no key and no value holds secret
// material.
func (r *redactEnv) checkStore(after string) {
	r.t.Helper()
	n := 0
	err := r.st.Scan(r.ctx, nil, func(k, v []byte) error {
		n++
		if leak := r.d.inBytes(k); leak != "" {
			return fmt.Errorf("store key %x holds %s", k, leak)
		}
		if leak := r.d.inBytes(v); leak != "" {
			return fmt.Errorf("value of store key %x holds %s", k, leak)
		}
		return nil
	})
	if err != nil {
		r.t.Errorf("%s: %v", after, err)
	}
	if n == 0 {
		r.t.Errorf("%s: the store scan saw nothing", after)
	}
}

// checkErr fails unless err is an error whose text, in every form, holds
// no secret material; then scans the store.
func (r *redactEnv) checkErr(what string, err error) {
	r.t.Helper()
	if err == nil {
		r.t.Errorf("%s: no error", what)
		return
	}
	for _, out := range []string{err.Error(), fmt.Sprintf("%v|%+v|%#v|%s|%q|%x", err, err, err, err, err, err)} {
		if leak := r.d.inText(out); leak != "" {
			r.t.Errorf("%s: the error shows %s", what, leak)
			return
		}
	}
	r.checkStore(what)
}

// checkOut fails if an output holds secret material.
func (r *redactEnv) checkOut(what, out string) {
	r.t.Helper()
	if leak := r.d.inText(out); leak != "" {
		r.t.Errorf("%s: the output shows %s", what, leak)
	}
}

// variants returns near misses of a secret: one digit changed at every
// position, truncations, extensions, other prefixes and cases.
func variants(s string) map[string]string {
	out := map[string]string{}
	for i := len(keys.SecretPrefix); i < len(s); i++ {
		out[fmt.Sprintf("digit %d changed", i)] = s[:i] + string(otherHexDigit(s[i])) + s[i+1:]
	}
	body := s[len(keys.SecretPrefix):]
	for _, n := range []int{0, 4, 20, 40, 60, 67} {
		out[fmt.Sprintf("truncated to %d", n)] = s[:n]
	}
	out["last digit dropped"] = s[:len(s)-1]
	out["first digit dropped"] = s[:4] + s[5:]
	out["digit appended"] = s + "0"
	out["doubled"] = s + s
	out["newline appended"] = s + "\n"
	out["space prepended"] = " " + s
	out["quoted"] = `"` + s + `"`
	out["bearer"] = "Bearer " + s
	out["no prefix"] = body
	out["body and 4 more"] = body + "0000"
	out["prefix akx_"] = "akx_" + body
	out["prefix AKS_"] = "AKS_" + body
	out["prefix aki_"] = "aki_" + body
	out["prefix aks-"] = "aks-" + body
	out["uppercase"] = s[:4] + strings.ToUpper(body)
	out["digits swapped"] = swapAdjacent(s)
	return out
}

func TestSecretsNeverLeak(t *testing.T) {
	r := &redactEnv{testEnv: newEngine(t), d: newLeakDetector()}
	e, ctx := r.e, r.ctx
	r.d.add(t, mustSecret(t)) // a secret never issued: the store starts clean
	r.checkStore("after New")

	a := r.account("acme")
	b := r.account("globex")
	ws := r.workspace(a.ID, "prod")
	ws2 := r.workspace(a.ID, "staging")
	wsB := r.workspace(b.ID, "prod")
	r.checkStore("after creating tenants")

	c1 := r.cluster(ws.ID, "east", cluster.BYOC)
	r.track(*c1.AgentKey)
	sr := r.cluster(ws.ID, "schemas", cluster.BYOCSchemaRegistry)
	r.track(*sr.AgentKey)
	sl := r.cluster(ws.ID, "hosted", cluster.Serverless)
	r.checkStore("after creating a serverless cluster")
	cB := r.cluster(wsB.ID, "east", cluster.BYOC)
	r.track(*cB.AgentKey)
	c2 := r.cluster(ws2.ID, "west", cluster.BYOC)
	r.track(*c2.AgentKey)

	app := r.appKey(ws.ID)
	acct := r.accountKey(a.ID)
	bound := r.agentKey(ws.ID, c1.Cluster.ID)
	anyKey := r.anyAgentKey(ws.ID)
	expiring, err := e.CreateApplicationKey(ctx, ws.ID, "akn_brief", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r.track(app, acct, bound, anyKey, expiring)
	if _, err := e.SetClusterSASL(ctx, c1.Cluster.ID, cluster.SASLRequired); err != nil {
		t.Fatal(err)
	}
	r.checkStore("after SetClusterSASL")

	// Near misses of every secret, on every authentication path.
	unknownC, _ := keys.NewClusterID()
	for _, k := range r.issued {
		vs := variants(k.Secret.Reveal())
		for _, vn := range sortedNames(vs) {
			s := vs[vn]
			_, err := e.Authenticate(ctx, s)
			wantErr(t, "Authenticate("+vn+")", err, ErrUnauthenticated)
			r.checkErr("Authenticate("+vn+")", err)
			_, err = e.AuthenticateAPI(ctx, s, Target{Workspace: ws.ID})
			r.checkErr("AuthenticateAPI("+vn+")", err)
			_, err = e.AuthenticateAgent(ctx, s, c1.Cluster.ID)
			r.checkErr("AuthenticateAgent("+vn+")", err)
		}
	}

	// Good secrets, refused by authorization.
	denials := []struct {
		what string
		call func() error
	}{
		{"agent key on the public API", func() error {
			_, err := e.AuthenticateAPI(ctx, c1.AgentKey.Secret.Reveal(), Target{Workspace: ws.ID})
			return err
		}},
		{"* agent key on the public API", func() error {
			_, err := e.AuthenticateAPI(ctx, anyKey.Secret.Reveal(), Target{Cluster: c1.Cluster.ID})
			return err
		}},
		{"application key at account level", func() error {
			_, err := e.AuthenticateAPI(ctx, app.Secret.Reveal(), Target{Account: a.ID})
			return err
		}},
		{"application key on another workspace", func() error {
			_, err := e.AuthenticateAPI(ctx, app.Secret.Reveal(), Target{Workspace: ws2.ID})
			return err
		}},
		{"application key on an unknown cluster", func() error {
			_, err := e.AuthenticateAPI(ctx, app.Secret.Reveal(), Target{Cluster: unknownC})
			return err
		}},
		{"account key on another account", func() error {
			_, err := e.AuthenticateAPI(ctx, acct.Secret.Reveal(), Target{Workspace: wsB.ID})
			return err
		}},
		{"application key as an agent", func() error {
			_, err := e.AuthenticateAgent(ctx, app.Secret.Reveal(), c1.Cluster.ID)
			return err
		}},
		{"account key as an agent", func() error {
			_, err := e.AuthenticateAgent(ctx, acct.Secret.Reveal(), c1.Cluster.ID)
			return err
		}},
		{"agent key on another cluster", func() error {
			_, err := e.AuthenticateAgent(ctx, c1.AgentKey.Secret.Reveal(), sr.Cluster.ID)
			return err
		}},
		{"agent key on another workspace's cluster", func() error {
			_, err := e.AuthenticateAgent(ctx, anyKey.Secret.Reveal(), c2.Cluster.ID)
			return err
		}},
		{"agent key on a serverless cluster", func() error {
			_, err := e.AuthenticateAgent(ctx, anyKey.Secret.Reveal(), sl.Cluster.ID)
			return err
		}},
		{"agent key on an unknown cluster", func() error {
			_, err := e.AuthenticateAgent(ctx, bound.Secret.Reveal(), unknownC)
			return err
		}},
		{"agent key on the zero cluster", func() error {
			_, err := e.AuthenticateAgent(ctx, bound.Secret.Reveal(), keys.ClusterID{})
			return err
		}},
	}
	for _, tc := range denials {
		err := tc.call()
		wantErr(t, tc.what, err, ErrPermissionDenied)
		r.checkErr(tc.what, err)
	}
	_, err = e.AuthenticateAPI(ctx, app.Secret.Reveal(), Target{})
	wantErr(t, "application key with a bad target", err, ErrInvalidArgument)
	r.checkErr("application key with a bad target", err)

	// A secret passed where a name or id belongs is refused without being
	// echoed.
	s := app.Secret.Reveal()
	misuse := []struct {
		what string
		call func() error
	}{
		{"secret as a key name", func() error {
			_, err := e.CreateApplicationKey(ctx, ws.ID, keys.KeyName(s), time.Time{})
			return err
		}},
		{"secret with a dash after a key name prefix", func() error {
			_, err := e.CreateApplicationKey(ctx, ws.ID, keys.KeyName("akn_-"+s), time.Time{})
			return err
		}},
		{"secret as a cluster id", func() error {
			_, err := e.CreateKey(ctx, KeySpec{Name: "akn_x", Grant: agentGrantOf(ws.ID, s)})
			return err
		}},
		{"secret as a resource kind", func() error {
			_, err := e.CreateKey(ctx, KeySpec{Name: "akn_x", Grant: Grant{Workspace: ws.ID, Principal: KindAgent, Resource: ResourceKind(s), ResourceID: AnyID}})
			return err
		}},
		{"secret in a bad account name", func() error { _, err := e.CreateAccount(ctx, s+"\x00"); return err }},
		{"secret in a bad workspace name", func() error { _, err := e.CreateWorkspace(ctx, a.ID, " "+s); return err }},
		{"secret in a bad cluster name", func() error {
			_, err := e.CreateCluster(ctx, ws.ID, ClusterSpec{Name: s + "\n", Type: cluster.BYOC})
			return err
		}},
	}
	for _, tc := range misuse {
		r.unchanged(tc.what, func() {
			err := tc.call()
			wantErr(t, tc.what, err, ErrInvalidArgument)
			r.checkErr(tc.what, err)
		})
	}

	// Expired: the secret and a principal taken before expiry.
	pExp := r.authn(expiring)
	r.clock.Set(t0.Add(time.Hour))
	_, err = e.Authenticate(ctx, expiring.Secret.Reveal())
	wantErr(t, "expired key", err, ErrUnauthenticated)
	r.checkErr("expired key", err)
	err = e.Authorize(ctx, pExp, Target{Workspace: ws.ID})
	wantErr(t, "expired principal", err, ErrUnauthenticated)
	r.checkErr("expired principal", err)

	// Formatting and logging of what carries a secret.
	r.checkFormatting(c1, sl)

	// Revoked: DeleteKey, then every path with the revoked secret.
	for _, k := range []IssuedKey{app, acct, bound, anyKey} {
		if err := e.DeleteKey(ctx, k.Key.ID); err != nil {
			t.Fatal(err)
		}
		r.checkStore("after DeleteKey")
		_, err := e.Authenticate(ctx, k.Secret.Reveal())
		wantErr(t, "revoked key", err, ErrUnauthenticated)
		r.checkErr("Authenticate(revoked)", err)
		_, err = e.AuthenticateAPI(ctx, k.Secret.Reveal(), Target{Workspace: ws.ID})
		r.checkErr("AuthenticateAPI(revoked)", err)
		_, err = e.AuthenticateAgent(ctx, k.Secret.Reveal(), c1.Cluster.ID)
		r.checkErr("AuthenticateAgent(revoked)", err)
		r.checkErr("DeleteKey twice", e.DeleteKey(ctx, k.Key.ID))
		_, err = e.GetKey(ctx, k.Key.ID)
		r.checkErr("GetKey(revoked)", err)
	}
	if err := e.DeleteCluster(ctx, c1.Cluster.ID); err != nil {
		t.Fatal(err)
	}
	r.checkStore("after DeleteCluster")
	_, err = e.AuthenticateAgent(ctx, c1.AgentKey.Secret.Reveal(), c1.Cluster.ID)
	wantErr(t, "agent key of a deleted cluster", err, ErrUnauthenticated)
	r.checkErr("agent key of a deleted cluster", err)

	// Listings and lookups return metadata only.
	var listed []Key
	for _, f := range []KeyFilter{{Account: a.ID}, {Account: b.ID}, {Workspace: ws.ID}, {Workspace: ws2.ID}, {Workspace: wsB.ID}, {Cluster: sr.Cluster.ID}} {
		ks, err := e.ListKeys(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, ks...)
	}
	r.checkOut("ListKeys", fmt.Sprintf("%v %+v %#v %x", listed, listed, listed, listed))
	r.checkStore("at the end")
}

// checkFormatting prints every issued key, and clusters created with and
// without one, through fmt, encoding/json and log/slog.
func (r *redactEnv) checkFormatting(byoc, serverless CreatedCluster) {
	r.t.Helper()
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%10v", "%-40s", "%#x"}
	format := func(what string, x any) {
		r.t.Helper()
		for _, verb := range verbs {
			r.checkOut(fmt.Sprintf("%s %s", what, verb), fmt.Sprintf(verb, x))
		}
		r.checkOut(what+" Sprint", fmt.Sprint(x))
		r.checkOut(what+" Sprintln", fmt.Sprintln(x, x))
		r.checkOut(what+" Errorf", fmt.Errorf("issuing %v: %w", x, ErrInvalidArgument).Error())
		if j, err := json.Marshal(x); err != nil {
			r.checkOut(what+" json error", err.Error())
		} else {
			r.checkOut(what+" json", string(j))
		}
		r.checkOut(what+" slog", logOutput(func(l *slog.Logger) { l.Info("issued", slog.Any("key", x)) }))
		r.checkOut(what+" slog group", logOutput(func(l *slog.Logger) { l.Info("issued", slog.Group("g", "key", x)) }))
		r.checkOut(what+" slog args", logOutput(func(l *slog.Logger) { l.With("key", x).Error("issued", "again", x) }))
	}
	for _, k := range r.issued {
		k := k
		format("IssuedKey", k)
		format("*IssuedKey", &k)
		format("Secret", k.Secret)
		format("*Secret", &k.Secret)
		format("Key", k.Key)
	}
	format("[]IssuedKey", r.issued)
	ptrs := make([]*IssuedKey, len(r.issued))
	for i := range r.issued {
		ptrs[i] = &r.issued[i]
	}
	format("[]*IssuedKey", ptrs)
	format("map of IssuedKey", map[string]IssuedKey{"k": r.issued[0]})
	format("CreatedCluster", byoc)
	format("*CreatedCluster", &byoc)
	format("*IssuedKey of a CreatedCluster", byoc.AgentKey)
	format("serverless CreatedCluster", serverless)
	format("[]CreatedCluster", []CreatedCluster{byoc, serverless})
	format("struct holding an IssuedKey", struct {
		Issued IssuedKey
		Note   string
	}{r.issued[0], "note"})
}

// logOutput runs f with a text logger and then a JSON logger, and returns
// both outputs.
func logOutput(f func(*slog.Logger)) string {
	var buf bytes.Buffer
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	f(slog.New(slog.NewTextHandler(&buf, opts)))
	f(slog.New(slog.NewJSONHandler(&buf, opts)))
	return buf.String()
}

func mustSecret(t *testing.T) keys.Secret {
	t.Helper()
	s, err := keys.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFormattingShowsPlaceholder: a formatted key shows the placeholder
// where the secret would be, so the redaction checks above are looking at
// output that does print the key.
func TestFormattingShowsPlaceholder(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	k := v.appKey(ws.ID)
	for _, out := range []string{
		fmt.Sprintf("%v", k), fmt.Sprintf("%+v", &k),
		logOutput(func(l *slog.Logger) { l.Info("issued", slog.Any("key", k)) }),
	} {
		if !strings.Contains(out, k.Key.ID.String()) {
			t.Errorf("formatted key lacks its id: %q", out)
		}
	}
	if out := fmt.Sprintf("%+v", k); !strings.Contains(out, "REDACTED") {
		t.Errorf("formatted key lacks the placeholder: %q", out)
	}
}
