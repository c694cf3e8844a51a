package auth_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	xdg "github.com/xdg-go/scram"
	"pgregory.net/rapid"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/keys"
)

// The credential half of the TestRules state machine: cluster credentials
// created with generated and imported passwords, deleted alone or with their
// cluster, and logged in with over SASL PLAIN and both SCRAMs (rules 6–9).

// mCred is the model of a cluster credential.
type mCred struct {
	id        keys.CredentialID
	cl        *mCluster
	username  string
	name      string
	superuser bool
	password  string // the password's text, as issued
	raw       []byte // a generated password's random bytes, for rule 7; nil if imported
	created   time.Time
	deleted   bool
}

var (
	credNames = []string{"orders-app", "Zahlungsdienst", "注文サービス", "ops 🔑"}
	// Names CheckDisplayName refuses: CreateCredential is ErrInvalidArgument.
	badCredNames = []string{"", " leading", "trailing ", "tab\there", "bidi\u202eoverride", "zero\u200bwidth", "bad\xffutf8",
		strings.Repeat("n", keys.MaxDisplayNameLen+1)}
	// Every fixed string the machine stores: an imported password is drawn
	// so as to be none of their substrings, so that rule 7's scan cannot
	// mistake a name for a leaked password.
	storedText = []string{"account 0", "account 1", "workspace 0", "workspace 1", "workspace 2", "streamauth/format/",
		"akn_agent", "akn_agent2", "akn_fleet", "akn_app", "akn_ops"}
)

func init() {
	storedText = append(storedText, clusterNames...)
	storedText = append(storedText, credNames...)
}

var (
	// asciiRunes are printable ASCII, with SCRAM's and PLAIN's separators.
	asciiRunes = rapid.RuneFrom(nil, &unicode.RangeTable{R16: []unicode.Range16{{Lo: ' ', Hi: '~', Stride: 1}}})
	// passwordRunes adds 2-, 3- and 4-byte UTF-8 and rapid's default mix
	// (less NUL).
	passwordRunes = rapid.OneOf(
		asciiRunes,
		rapid.RuneFrom([]rune("äöüßéñøЖжπλ€中文字🔑😀\u00a0\ufeff")),
		rapid.Rune().Filter(func(r rune) bool { return r != 0 }),
	)
)

// drawPassword draws a valid password to import: 8 to 255 bytes of UTF-8
// without NUL, all ASCII one time in three.
func drawPassword(t *rapid.T, label string) string {
	runes := passwordRunes
	if rapid.IntRange(0, 2).Draw(t, label+"ASCII") == 0 {
		runes = asciiRunes
	}
	return rapid.StringOfN(runes, keys.MinPasswordLen, keys.MaxPasswordLen, keys.MaxPasswordLen).
		Filter(func(s string) bool {
			if len(s) < keys.MinPasswordLen {
				return false
			}
			for _, f := range storedText {
				if strings.Contains(f, s) {
					return false
				}
			}
			return true
		}).Draw(t, label)
}

// importErrors returns the texts of ImportPassword's errors, one per cause,
// for inputs that hold nothing secret.
func importErrors() []string {
	var out []string
	for _, s := range []string{"short", strings.Repeat("long", 64), "12345678\xff", "12345678\x00"} {
		if _, err := keys.ImportPassword(s); err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}

// drawBadPassword draws a string ImportPassword must refuse.
func drawBadPassword(t *rapid.T) string {
	switch rapid.IntRange(0, 3).Draw(t, "badPassword") {
	case 0: // too short
		return rapid.StringOfN(passwordRunes, 0, keys.MinPasswordLen-1, keys.MinPasswordLen-1).
			Filter(func(s string) bool { return len(s) < keys.MinPasswordLen }).Draw(t, "short")
	case 1: // too long
		s := drawPassword(t, "base")
		return strings.Repeat(s, 2*keys.MaxPasswordLen/len(s)+1)[:keys.MaxPasswordLen+rapid.IntRange(1, keys.MaxPasswordLen).Draw(t, "over")]
	case 2: // not UTF-8
		s := drawPassword(t, "base")
		if len(s) == keys.MaxPasswordLen {
			s = s[1:]
		}
		i := rapid.IntRange(0, len(s)).Draw(t, "at")
		b := rapid.SampledFrom([]byte{0x80, 0xbf, 0xc3, 0xe2, 0xf0, 0xff}).Draw(t, "byte")
		if u := s[:i] + string([]byte{b}) + s[i:]; !utf8.ValidString(u) {
			return u
		}
		return s[:i] + "\xff" + s[i:]
	default: // a NUL
		s := drawPassword(t, "base")
		if len(s) == keys.MaxPasswordLen {
			_, n := utf8.DecodeRuneInString(s)
			s = s[n:]
		}
		i := rapid.IntRange(0, len(s)).Draw(t, "at")
		return s[:i] + "\x00" + s[i:]
	}
}

func (m *machine) createCredential(t *rapid.T) {
	if rapid.IntRange(0, 4).Draw(t, "spec") == 0 {
		m.createCredentialInvalid(t)
		return
	}
	c, ok := m.pickLiveCluster(t)
	if !ok {
		t.Skip("no cluster yet") // rapid draws another action
		return
	}
	spec := auth.CredentialSpec{
		Name:      rapid.SampledFrom(credNames).Draw(t, "credName"),
		Superuser: rapid.Bool().Draw(t, "superuser"),
	}
	imported := rapid.Bool().Draw(t, "imported")
	var text string
	if imported {
		text = drawPassword(t, "password")
		p, err := keys.ImportPassword(text)
		if err != nil {
			t.Fatalf("ImportPassword of a valid password of %d bytes: %v", len(text), err)
		}
		spec.Password = p
	}
	ic, err := m.e.CreateCredential(m.ctx, c.id, spec)
	if c.deleted {
		m.expect("CreateCredential on a deleted cluster", err, auth.ErrNotFound)
		return
	}
	if err != nil {
		t.Fatalf("CreateCredential: %v", err)
	}
	got := ic.Credential
	if _, err := keys.ParseUsername(string(got.Username)); err != nil || got.ID.IsZero() {
		t.Fatalf("CreateCredential: id %v, username %q", got.ID, got.Username)
	}
	cr := &mCred{id: got.ID, cl: c, username: string(got.Username), name: spec.Name, superuser: spec.Superuser, created: m.now}
	m.checkCredential("CreateCredential", got, cr)
	for _, o := range m.creds {
		if o.id == cr.id || o.username == cr.username {
			t.Fatalf("CreateCredential reissued the id or username of credential %v", o.id)
		}
	}
	pw := ic.Password.Reveal()
	if imported {
		if pw != text || !ic.Password.Equal(spec.Password) {
			t.Fatalf("CreateCredential did not return the imported password")
		}
	} else {
		hexPart, ok := strings.CutPrefix(pw, keys.PasswordPrefix)
		raw, err := hex.DecodeString(hexPart)
		if !ok || err != nil || len(raw) != 32 || hex.EncodeToString(raw) != hexPart {
			t.Fatalf("generated password is not %q and 64 lowercase hex digits", keys.PasswordPrefix)
		}
		cr.raw = raw
	}
	cr.password = pw
	m.creds = append(m.creds, cr)
}

// createCredentialInvalid tries what must create nothing.
func (m *machine) createCredentialInvalid(t *rapid.T) {
	switch rapid.IntRange(0, 3).Draw(t, "invalid") {
	case 0:
		s := drawBadPassword(t)
		p, err := keys.ImportPassword(s)
		if !errors.Is(err, keys.ErrInvalidPassword) || !p.IsZero() {
			t.Fatalf("ImportPassword of an invalid password of %d bytes: %v", len(s), err)
		}
		// Its error is one of a few fixed texts, so it cannot quote s.
		if !slices.Contains(importErrors(), err.Error()) {
			t.Fatalf("ImportPassword's error %q is none of %q", err, importErrors())
		}
	case 1:
		c, ok := m.pickCluster(t)
		if !ok {
			return
		}
		name := rapid.SampledFrom(badCredNames).Draw(t, "badName")
		_, err := m.e.CreateCredential(m.ctx, c.id, auth.CredentialSpec{Name: name})
		m.expect("CreateCredential with an invalid name", err, auth.ErrInvalidArgument)
	case 2:
		_, err := m.e.CreateCredential(m.ctx, keys.ClusterID{}, auth.CredentialSpec{Name: credNames[0]})
		m.expect("CreateCredential with no cluster", err, auth.ErrInvalidArgument)
	default:
		_, err := m.e.CreateCredential(m.ctx, m.strayCluster, auth.CredentialSpec{Name: credNames[0]})
		m.expect("CreateCredential on a cluster never created", err, auth.ErrNotFound)
	}
}

func (m *machine) deleteCredential(t *rapid.T) {
	switch rapid.IntRange(0, 7).Draw(t, "which") {
	case 0:
		m.expect("DeleteCredential with no id", m.e.DeleteCredential(m.ctx, keys.CredentialID{}), auth.ErrInvalidArgument)
		return
	case 1:
		id, err := keys.NewCredentialID()
		if err != nil {
			t.Fatal(err)
		}
		m.expect("DeleteCredential of an unknown id", m.e.DeleteCredential(m.ctx, id), auth.ErrNotFound)
		return
	}
	cr, ok := m.pickLiveCred(t)
	if !ok {
		return
	}
	var straddle *scramRun
	if !cr.deleted {
		// Remembered first: the delete must forget it.
		m.checkPlain("PLAIN login before its credential's delete", cr.cl.id, cr.username, cr.password, false, cr)
		if rapid.Bool().Draw(t, "straddle") {
			// An exchange begun before the delete must not finish after it.
			straddle = m.scramBegin(cr.cl.id, drawMechanism(t), cr.username, cr.password)
		}
	}
	err := m.e.DeleteCredential(m.ctx, cr.id)
	if cr.deleted {
		m.expect("DeleteCredential of a deleted credential", err, auth.ErrNotFound)
		return
	}
	if err != nil {
		t.Fatalf("DeleteCredential: %v", err)
	}
	cr.deleted = true
	// Rule 6: refused as soon as DeleteCredential returns.
	m.checkPlain("PLAIN login of a deleted credential", cr.cl.id, cr.username, cr.password, false, nil)
	if straddle != nil {
		_, err := straddle.finish()
		m.expect("SCRAM exchange begun before its credential's delete", err, auth.ErrUnauthenticated)
	}
}

// login is one login attempt, with the model's verdict.
type login struct {
	what           string
	cl             keys.ClusterID
	user, password string
	want           *mCred // the credential it must log in as; nil: it must fail
}

// drawLogin draws a login attempt: right or wrong password, known or
// unknown username, on the credential's cluster or another.
func (m *machine) drawLogin(t *rapid.T) login {
	cr, ok := m.pickLiveCred(t)
	if !ok {
		t.Skip("no credential yet") // rapid draws another action
	}
	l := login{what: "the right password on its own cluster", cl: cr.cl.id, user: cr.username, password: cr.password}
	switch rapid.IntRange(0, 3).Draw(t, "where") {
	case 0: // rule 8: some cluster, maybe its own
		c, _ := m.pickCluster(t)
		l.cl = c.id
		if c != cr.cl {
			l.what = "the right password on another cluster"
		}
	case 1: // rule 8
		l.what, l.cl = "the right password on a cluster never created", m.strayCluster
	}
	switch rapid.IntRange(0, 4).Draw(t, "who") {
	case 0:
		l.what = "a wrong password"
		l.password = m.drawWrongPassword(t, cr)
	case 1:
		l.what = "an unknown username"
		l.user = rapid.SampledFrom([]string{m.ghost, strings.ToUpper(cr.username), "admin", cr.username + "0"}).Draw(t, "user")
	}
	if l.user == cr.username && l.password == cr.password && l.cl == cr.cl.id {
		if cr.deleted {
			l.what = "a deleted credential"
		} else {
			l.want = cr
		}
	}
	return l
}

// drawWrongPassword draws a password that is not cr's but would be valid.
func (m *machine) drawWrongPassword(t *rapid.T, cr *mCred) string {
	var w string
	switch rapid.IntRange(0, 2).Draw(t, "wrong") {
	case 0: // another credential's
		o := m.creds[rapid.IntRange(0, len(m.creds)-1).Draw(t, "other")]
		w = o.password
	case 1:
		w = oneRuneOff(cr.password)
	default:
		w = drawPassword(t, "wrongPassword")
	}
	if w == cr.password {
		w = oneRuneOff(cr.password)
	}
	return w
}

// oneRuneOff returns s with its first rune replaced by another ASCII letter.
func oneRuneOff(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == 'x' {
		return "y" + s[n:]
	}
	return "x" + s[n:]
}

func drawMechanism(t *rapid.T) string {
	return rapid.SampledFrom([]string{auth.MechanismSCRAMSHA256, auth.MechanismSCRAMSHA512}).Draw(t, "mechanism")
}

func (m *machine) plainLogin(t *rapid.T) {
	l := m.drawLogin(t)
	if rapid.IntRange(0, 5).Draw(t, "malformed") > 0 {
		m.checkPlain("PLAIN login with "+l.what, l.cl, l.user, l.password, rapid.Bool().Draw(t, "authzid"), l.want)
		return
	}
	// Malformed messages, even with the right password, never log in.
	msg := rapid.SampledFrom([]string{
		"",
		l.user + "\x00" + l.password, // one NUL
		"\x00" + l.user + "\x00" + l.password + "\x00",  // a NUL in the password
		"\x00\x00" + l.password,                         // no user
		"\x00" + l.user + "\x00",                        // no password
		m.ghost + "\x00" + l.user + "\x00" + l.password, // acting as someone else
		"\x00" + l.user + "\x00" + strings.Repeat(l.password, 2*keys.MaxPasswordLen/len(l.password)+1),
		"\x00" + l.user + "\x00" + l.password + "\xff",
	}).Draw(t, "msg")
	_, err := m.e.AuthenticatePlain(m.ctx, l.cl, []byte(msg))
	m.expect("malformed PLAIN message", err, auth.ErrUnauthenticated)
}

func (m *machine) scramLogin(t *rapid.T) {
	l := m.drawLogin(t)
	if rapid.IntRange(0, 7).Draw(t, "badMechanism") == 0 {
		mech := rapid.SampledFrom([]string{"", "PLAIN", "SCRAM-SHA-1", "scram-sha-256", "SCRAM-SHA-256-PLUS"}).Draw(t, "mechanism")
		_, err := m.e.StartSCRAM(m.ctx, l.cl, mech)
		m.expect("StartSCRAM of an unknown mechanism", err, auth.ErrInvalidArgument)
		return
	}
	mech := drawMechanism(t)
	m.checkSCRAM(mech+" login with "+l.what, l.cl, mech, l.user, l.password, l.want)
}

// checkPlain runs a SASL PLAIN login and checks that it logs in as want,
// or fails with ErrUnauthenticated if want is nil.
func (m *machine) checkPlain(what string, cl keys.ClusterID, user, password string, authzid bool, want *mCred) {
	m.t.Helper()
	msg := "\x00" + user + "\x00" + password
	if authzid {
		msg = user + msg
	}
	p, err := m.e.AuthenticatePlain(m.ctx, cl, []byte(msg))
	m.checkLogin(what, p, err, want)
}

func (m *machine) checkLogin(what string, p auth.CredentialPrincipal, err error, want *mCred) {
	m.t.Helper()
	if want == nil {
		m.expect(what, err, auth.ErrUnauthenticated)
		// One error for every cause, PLAIN or SCRAM: a client learns
		// nothing from it.
		if m.badLogin == "" {
			m.badLogin = err.Error()
		} else if err.Error() != m.badLogin {
			m.t.Fatalf("%s: error %q, where another failed login gave %q", what, err, m.badLogin)
		}
		return
	}
	if err != nil {
		m.t.Fatalf("%s: %v", what, err)
	}
	wp := auth.CredentialPrincipal{Credential: want.id, Cluster: want.cl.id, Username: keys.Username(want.username), Superuser: want.superuser}
	if p != wp {
		m.t.Fatalf("%s: principal %+v, want %+v", what, p, wp)
	}
}

func (m *machine) checkSCRAM(what string, cl keys.ClusterID, mech, user, password string, want *mCred) {
	m.t.Helper()
	p, err := m.scramBegin(cl, mech, user, password).finish()
	m.checkLogin(what, p, err, want)
}

// scramClient returns the xdg-go client of a user and password: one per
// triple, so that its cache of salted passwords spares a PBKDF2 run when
// the same salt comes back.
func (m *machine) scramClient(mech, user, password string) *xdg.Client {
	k := [3]string{mech, user, password}
	if c, ok := m.scramClients[k]; ok {
		return c
	}
	h := xdg.SHA256
	if mech == auth.MechanismSCRAMSHA512 {
		h = xdg.SHA512
	}
	c, err := h.NewClientUnprepped(user, password, "")
	if err != nil {
		m.t.Fatalf("NewClientUnprepped: %v", err)
	}
	m.scramClients[k] = c
	return c
}

// scramRun is a SCRAM exchange between an xdg-go client and the engine.
type scramRun struct {
	m    *machine
	x    *auth.SCRAMExchange
	conv *xdg.ClientConversation
	s1   []byte // server-first
}

// scramBegin starts an exchange and runs its first round trip, which must
// succeed whoever the user is: an unknown user is told apart only at the
// proof.
func (m *machine) scramBegin(cl keys.ClusterID, mech, user, password string) *scramRun {
	m.t.Helper()
	x, err := m.e.StartSCRAM(m.ctx, cl, mech)
	if err != nil {
		m.t.Fatalf("StartSCRAM(%s): %v", mech, err)
	}
	r := &scramRun{m: m, x: x, conv: m.scramClient(mech, user, password).NewConversation()}
	c1, err := r.conv.Step("")
	if err != nil {
		m.t.Fatalf("SCRAM client-first: %v", err)
	}
	if r.s1, err = x.Step(m.ctx, []byte(c1)); err != nil {
		m.t.Fatalf("SCRAM server-first for user %q: %v", user, err)
	}
	// Known or not, every user gets a salt and an iteration count of the
	// same shape.
	var salt []byte
	iters := ""
	for _, f := range strings.Split(string(r.s1), ",") {
		switch {
		case strings.HasPrefix(f, "s="):
			salt, err = base64.StdEncoding.DecodeString(f[2:])
		case strings.HasPrefix(f, "i="):
			iters = f[2:]
		}
	}
	if err != nil || len(salt) != 32 || iters != "4096" {
		m.t.Fatalf("SCRAM server-first %q for user %q: salt of %d bytes (%v), iterations %q", r.s1, user, len(salt), err, iters)
	}
	return r
}

// finish runs the final round trip: on success it checks the server's
// signature and returns who logged in; on failure, the engine's error.
func (r *scramRun) finish() (auth.CredentialPrincipal, error) {
	m := r.m
	m.t.Helper()
	c2, err := r.conv.Step(string(r.s1))
	if err != nil {
		m.t.Fatalf("SCRAM client-final: %v", err)
	}
	s2, err := r.x.Step(m.ctx, []byte(c2))
	if err != nil {
		if r.x.Done() {
			m.t.Fatalf("SCRAM exchange done after a failed final step")
		}
		if _, perr := r.x.Principal(); perr == nil {
			m.t.Fatalf("SCRAM exchange has a principal after a failed final step")
		}
		return auth.CredentialPrincipal{}, err
	}
	if !r.x.Done() {
		m.t.Fatalf("SCRAM exchange not done after its final step")
	}
	if _, err := r.conv.Step(string(s2)); err != nil || !r.conv.Valid() {
		m.t.Fatalf("SCRAM server-final does not verify: %v", err)
	}
	return r.x.Principal()
}

// checkCredential compares a returned credential with the model.
func (m *machine) checkCredential(what string, got auth.Credential, cr *mCred) {
	m.t.Helper()
	want := auth.Credential{
		ID: cr.id, Cluster: cr.cl.id, Workspace: m.ws[cr.cl.ws], Account: m.accts[m.wsAcc[cr.cl.ws]],
		Username: keys.Username(cr.username), Name: cr.name, Superuser: cr.superuser, CreatedAt: got.CreatedAt,
	}
	if got != want || !got.CreatedAt.Equal(cr.created) {
		m.t.Fatalf("%s: credential %+v, want %+v created at %v", what, got, want, cr.created)
	}
}

// checkCredentials checks, after every step: GetCredential and
// ListCredentials against the model; every credential's PLAIN login on its
// own cluster (rule 6: exactly the live ones log in; the live ones are
// remembered, so a delete has a remembered login to forget); the SCRAM
// logins tried so far with the right password (their salted passwords are
// cached); and rule 9 on every cluster.
func (m *machine) checkCredentials(t *rapid.T) {
	for _, cr := range m.creds {
		got, err := m.e.GetCredential(m.ctx, cr.id)
		if cr.deleted {
			m.expect("GetCredential of a deleted credential", err, auth.ErrNotFound)
		} else if err != nil {
			t.Fatalf("GetCredential: %v", err)
		} else {
			m.checkCredential("GetCredential", got, cr)
		}
		want := cr
		if cr.deleted {
			want = nil
		}
		m.checkPlain("PLAIN login on its own cluster", cr.cl.id, cr.username, cr.password, false, want)
		for _, mech := range []string{auth.MechanismSCRAMSHA256, auth.MechanismSCRAMSHA512} {
			if _, ok := m.scramClients[[3]string{mech, cr.username, cr.password}]; ok {
				m.checkSCRAM(mech+" login on its own cluster", cr.cl.id, mech, cr.username, cr.password, want)
			}
		}
	}
	for _, c := range m.cls {
		cs, err := m.e.ListCredentials(m.ctx, c.id)
		if c.deleted {
			m.expect("ListCredentials of a deleted cluster", err, auth.ErrNotFound)
		} else if err != nil {
			t.Fatalf("ListCredentials: %v", err)
		} else {
			got := make([]string, 0, len(cs))
			for _, cr := range cs {
				got = append(got, cr.ID.String()+" "+string(cr.Username)+" "+cr.Name)
			}
			var want []string
			for _, cr := range m.creds {
				if cr.cl == c && !cr.deleted {
					want = append(want, cr.id.String()+" "+cr.username+" "+cr.name)
				}
			}
			m.diff("ListCredentials", got, want)
		}
		// Rule 9: only a live cluster with SASL off admits a connection
		// without SASL; never a serverless one.
		allow, err := m.e.AllowUnauthenticated(m.ctx, c.id)
		switch {
		case c.deleted:
			m.expect("AllowUnauthenticated on a deleted cluster", err, auth.ErrNotFound)
			if allow {
				t.Fatalf("AllowUnauthenticated true on a deleted cluster")
			}
		case err != nil:
			t.Fatalf("AllowUnauthenticated: %v", err)
		case allow != (c.sasl == cluster.SASLOff):
			t.Fatalf("AllowUnauthenticated = %v on a %s cluster with SASL %v", allow, c.typ, c.sasl)
		case allow && !c.typ.IsBYOC():
			t.Fatalf("AllowUnauthenticated on a %s cluster", c.typ)
		}
	}
	allow, err := m.e.AllowUnauthenticated(m.ctx, m.strayCluster)
	m.expect("AllowUnauthenticated on a cluster never created", err, auth.ErrNotFound)
	if allow {
		t.Fatalf("AllowUnauthenticated true on a cluster never created")
	}
	allow, err = m.e.AllowUnauthenticated(m.ctx, keys.ClusterID{})
	m.expect("AllowUnauthenticated with no cluster", err, auth.ErrInvalidArgument)
	if allow {
		t.Fatalf("AllowUnauthenticated true with no cluster")
	}
}

// finalCheck runs once at the end of a history what is too slow to run
// after every step: every credential's right password, over PLAIN, on every
// cluster (rule 8), and a SCRAM login of every live credential that has had
// none (checkCredentials repeats the others after every step).
func (m *machine) finalCheck(t *rapid.T) {
	for _, cr := range m.creds {
		for _, cl := range append(m.clusterIDs(), m.strayCluster) {
			var want *mCred
			if cl == cr.cl.id && !cr.deleted {
				want = cr
			}
			m.checkPlain("PLAIN login on every cluster", cl, cr.username, cr.password, false, want)
		}
		_, tried256 := m.scramClients[[3]string{auth.MechanismSCRAMSHA256, cr.username, cr.password}]
		_, tried512 := m.scramClients[[3]string{auth.MechanismSCRAMSHA512, cr.username, cr.password}]
		if cr.deleted || tried256 || tried512 {
			continue
		}
		// One PBKDF2 run each: SHA-512 for superusers, SHA-256 for the
		// others, so that both verifiers get checked.
		mech := auth.MechanismSCRAMSHA256
		if cr.superuser {
			mech = auth.MechanismSCRAMSHA512
		}
		m.checkSCRAM(mech+" login at the end", cr.cl.id, mech, cr.username, cr.password, cr)
	}
}

func (m *machine) clusterIDs() []keys.ClusterID {
	ids := make([]keys.ClusterID, 0, len(m.cls))
	for _, c := range m.cls {
		ids = append(ids, c.id)
	}
	return ids
}

func (m *machine) pickCred(t *rapid.T) (*mCred, bool) {
	if len(m.creds) == 0 {
		return nil, false
	}
	return m.creds[rapid.IntRange(0, len(m.creds)-1).Draw(t, "cred")], true
}

// pickLiveCluster picks a live cluster three times in four, if there is
// one, and any cluster otherwise.
func (m *machine) pickLiveCluster(t *rapid.T) (*mCluster, bool) {
	var live []*mCluster
	for _, c := range m.cls {
		if !c.deleted {
			live = append(live, c)
		}
	}
	if len(live) == 0 || rapid.IntRange(0, 3).Draw(t, "live") == 0 {
		return m.pickCluster(t)
	}
	return live[rapid.IntRange(0, len(live)-1).Draw(t, "liveCluster")], true
}

// pickLiveCred picks a live credential three times in four, if there is
// one, and any credential otherwise.
func (m *machine) pickLiveCred(t *rapid.T) (*mCred, bool) {
	var live []*mCred
	for _, cr := range m.creds {
		if !cr.deleted {
			live = append(live, cr)
		}
	}
	if len(live) == 0 || rapid.IntRange(0, 3).Draw(t, "live") == 0 {
		return m.pickCred(t)
	}
	return live[rapid.IntRange(0, len(live)-1).Draw(t, "liveCred")], true
}
