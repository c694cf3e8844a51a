package record

import (
	"bytes"
	"errors"
	"testing"

	"pgregory.net/rapid"

	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
)

// cat concatenates its arguments into a new slice.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func idsFrom(t testing.TB, a, w, c, k []byte) (keys.AccountID, keys.WorkspaceID, keys.ClusterID, keys.KeyID) {
	t.Helper()
	var (
		ac keys.AccountID
		ws keys.WorkspaceID
		cl keys.ClusterID
		ky keys.KeyID
	)
	setID(t, &ac, a)
	setID(t, &ws, w)
	setID(t, &cl, c)
	setID(t, &ky, k)
	return ac, ws, cl, ky
}

// TestKeyLayout pins the exact bytes of every key builder: one tag byte,
// then fixed-length binary ids.
func TestKeyLayout(t *testing.T) {
	a, w, c, k := seq(0x10, 16), seq(0x20, 16), seq(0x30, 16), seq(0x40, 16)
	ac, ws, cl, ky := idsFrom(t, a, w, c, k)
	var prefix [keys.PrefixSize]byte
	copy(prefix[:], seq(0xa0, keys.PrefixSize))
	var hk [1 + keys.PrefixSize]byte
	for _, tc := range []struct {
		name      string
		got, want []byte
	}{
		{"MetaKey", MetaKey, []byte("m")},
		{"AccountKey", AccountKey(ac), cat([]byte("A"), a)},
		{"WorkspaceKey", WorkspaceKey(ws), cat([]byte("W"), w)},
		{"ClusterKey", ClusterKey(cl), cat([]byte("C"), c)},
		{"KeyByIDKey", KeyByIDKey(ky), cat([]byte("K"), k)},
		{"AccountsPrefix", AccountsPrefix(), []byte("A")},
		{"WorkspacesPrefix", WorkspacesPrefix(ac), cat([]byte("w"), a)},
		{"ClustersPrefix", ClustersPrefix(ws), cat([]byte("c"), w)},
		{"ClusterKeysPrefix", ClusterKeysPrefix(cl), cat([]byte("g"), c)},
		{"OwnerKeysPrefix(workspace)", OwnerKeysPrefix(ws), cat([]byte("k"), w)},
		{"OwnerKeysPrefix(account)", OwnerKeysPrefix(ac), cat([]byte("k"), a)},
		{"AccountWorkspaceKey", AccountWorkspaceKey(ac, ws), cat([]byte("w"), a, w)},
		{"WorkspaceClusterKey", WorkspaceClusterKey(ws, cl), cat([]byte("c"), w, c)},
		{"OwnerKeyKey(workspace)", OwnerKeyKey(ws, ky), cat([]byte("k"), w, k)},
		{"OwnerKeyKey(account)", OwnerKeyKey(ac, ky), cat([]byte("k"), a, k)},
		{"ClusterKeyKey", ClusterKeyKey(cl, ky), cat([]byte("g"), c, k)},
		{"ClusterNameKey", ClusterNameKey(ws, "prod"), cat([]byte("n"), w, []byte("prod"))},
		{"ClusterNameKey empty", ClusterNameKey(ws, ""), cat([]byte("n"), w)},
		{"HashKey", HashKey(&hk, &prefix), cat([]byte("H"), seq(0xa0, keys.PrefixSize))},
	} {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

// TestTablesHaveDistinctTags checks that no two tables share a tag byte, so
// that no prefix scan of one table reaches another's entries.
func TestTablesHaveDistinctTags(t *testing.T) {
	ac, ws, cl, ky := idsFrom(t, seq(1, 16), seq(2, 16), seq(3, 16), seq(4, 16))
	var hk [1 + keys.PrefixSize]byte
	var p [keys.PrefixSize]byte
	tables := map[string][]byte{
		"account":           AccountKey(ac),
		"workspace":         WorkspaceKey(ws),
		"account workspace": AccountWorkspaceKey(ac, ws),
		"cluster":           ClusterKey(cl),
		"workspace cluster": WorkspaceClusterKey(ws, cl),
		"cluster name":      ClusterNameKey(ws, "x"),
		"hash":              HashKey(&hk, &p),
		"key":               KeyByIDKey(ky),
		"owner key":         OwnerKeyKey(ws, ky),
		"cluster key":       ClusterKeyKey(cl, ky),
		"meta":              MetaKey,
		"agent state":       AgentStateKey,
		"staged":            StagedKey(1, MetaKey),
		"staged live":       StagedLiveKey,
		"agent owner":       AgentOwnerKey,
	}
	seen := map[byte]string{}
	for name, k := range tables {
		if other, ok := seen[k[0]]; ok {
			t.Errorf("tables %q and %q share the tag %q", name, other, k[0])
		}
		seen[k[0]] = name
	}
	// Each table's scan prefix belongs to that table only.
	for name, prefix := range map[string][]byte{
		"account":           AccountsPrefix(),
		"account workspace": WorkspacesPrefix(ac),
		"workspace cluster": ClustersPrefix(ws),
		"owner key":         OwnerKeysPrefix(ws),
		"cluster key":       ClusterKeysPrefix(cl),
	} {
		for other, k := range tables {
			if got := bytes.HasPrefix(k, prefix); got != (other == name) {
				t.Errorf("prefix of %q (%q) prefixes an entry of %q (%q): %v", name, prefix, other, k, got)
			}
		}
	}
}

// listing is a parent→children table: its scan prefix and its entries,
// built from raw id bytes so that one property covers every table.
type listing struct {
	name   string
	prefix func(t tb, parent []byte) []byte
	entry  func(t tb, parent, child []byte) []byte
}

var listings = []listing{
	{"workspaces of an account",
		func(t tb, p []byte) []byte { var a keys.AccountID; setID(t, &a, p); return WorkspacesPrefix(a) },
		func(t tb, p, c []byte) []byte {
			var a keys.AccountID
			var w keys.WorkspaceID
			setID(t, &a, p)
			setID(t, &w, c)
			return AccountWorkspaceKey(a, w)
		}},
	{"clusters of a workspace",
		func(t tb, p []byte) []byte { var w keys.WorkspaceID; setID(t, &w, p); return ClustersPrefix(w) },
		func(t tb, p, c []byte) []byte {
			var w keys.WorkspaceID
			var cl keys.ClusterID
			setID(t, &w, p)
			setID(t, &cl, c)
			return WorkspaceClusterKey(w, cl)
		}},
	{"keys of a workspace",
		func(t tb, p []byte) []byte { var w keys.WorkspaceID; setID(t, &w, p); return OwnerKeysPrefix(w) },
		func(t tb, p, c []byte) []byte {
			var w keys.WorkspaceID
			var k keys.KeyID
			setID(t, &w, p)
			setID(t, &k, c)
			return OwnerKeyKey(w, k)
		}},
	{"keys of an account",
		func(t tb, p []byte) []byte { var a keys.AccountID; setID(t, &a, p); return OwnerKeysPrefix(a) },
		func(t tb, p, c []byte) []byte {
			var a keys.AccountID
			var k keys.KeyID
			setID(t, &a, p)
			setID(t, &k, c)
			return OwnerKeyKey(a, k)
		}},
	{"agent keys of a cluster",
		func(t tb, p []byte) []byte { var cl keys.ClusterID; setID(t, &cl, p); return ClusterKeysPrefix(cl) },
		func(t tb, p, c []byte) []byte {
			var cl keys.ClusterID
			var k keys.KeyID
			setID(t, &cl, p)
			setID(t, &k, c)
			return ClusterKeyKey(cl, k)
		}},
}

// inScan reports whether key is in the range a prefix scan of prefix
// covers.
func inScan(key, prefix []byte) bool {
	end := store.PrefixEnd(prefix)
	return bytes.Compare(key, prefix) >= 0 && (end == nil || bytes.Compare(key, end) < 0)
}

func TestListingPrefixes(t *testing.T) {
	for _, l := range listings {
		t.Run(l.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				p1 := drawIDBytes(t, "parent1")
				p2 := drawIDBytes(t, "parent2")
				c1 := drawIDBytes(t, "child1")
				c2 := drawIDBytes(t, "child2")
				pre := l.prefix(t, p1)
				if len(pre) != 1+keys.UUIDSize {
					t.Fatalf("prefix is %d bytes, want %d", len(pre), 1+keys.UUIDSize)
				}
				e1 := l.entry(t, p1, c1)
				if len(e1) != 1+2*keys.UUIDSize {
					t.Fatalf("entry is %d bytes, want %d", len(e1), 1+2*keys.UUIDSize)
				}
				if !bytes.HasPrefix(e1, pre) || !inScan(e1, pre) {
					t.Fatalf("entry %x of parent %x is not under its prefix %x", e1, p1, pre)
				}
				if got, err := LastID(e1); err != nil || !bytes.Equal(got, c1) {
					t.Fatalf("LastID(%x) = %x, %v; want %x", e1, got, err, c1)
				}
				e2 := l.entry(t, p2, c2)
				if !bytes.Equal(p1, p2) && (bytes.HasPrefix(e2, pre) || inScan(e2, pre)) {
					t.Fatalf("entry %x of parent %x is under the prefix %x of parent %x", e2, p2, pre, p1)
				}
				// Entries of one parent sort by child id.
				e12 := l.entry(t, p1, c2)
				if got, want := bytes.Compare(e1, e12), bytes.Compare(c1, c2); got != want {
					t.Fatalf("entries compare %d, children compare %d", got, want)
				}
			})
		})
	}
}

func TestOwnerPrefixExample(t *testing.T) {
	_, ws1, _, ky := idsFrom(t, seq(0, 16), seq(0x20, 16), seq(0, 16), seq(0x40, 16))
	var ws2 keys.WorkspaceID
	setID(t, &ws2, append(seq(0x20, 15), 0x30)) // differs from ws1 in the last byte only
	if bytes.HasPrefix(OwnerKeyKey(ws2, ky), OwnerKeysPrefix(ws1)) {
		t.Fatal("OwnerKeysPrefix(ws1) prefixes OwnerKeyKey(ws2, k)")
	}
	if !bytes.HasPrefix(OwnerKeyKey(ws1, ky), OwnerKeysPrefix(ws1)) {
		t.Fatal("OwnerKeysPrefix(ws1) does not prefix OwnerKeyKey(ws1, k)")
	}
}

func TestAccountsPrefix(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var a keys.AccountID
		drawID(t, "account", &a)
		k := AccountKey(a)
		if !bytes.HasPrefix(k, AccountsPrefix()) {
			t.Fatalf("AccountKey %x not under AccountsPrefix", k)
		}
		if got, err := LastID(k); err != nil || got == nil {
			t.Fatalf("LastID(AccountKey) = %x, %v", got, err)
		} else if id := a.Bytes(); !bytes.Equal(got, id[:]) {
			t.Fatalf("LastID(AccountKey) = %x, want %x", got, id)
		}
	})
}

func TestLastID(t *testing.T) {
	for n := range 1 + keys.UUIDSize {
		got, err := LastID(seq(1, n))
		if !errors.Is(err, store.ErrCorrupt) || got != nil {
			t.Errorf("LastID of %d bytes = %x, %v; want nil, store.ErrCorrupt", n, got, err)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		key := rapid.SliceOfN(rapid.Byte(), 1+keys.UUIDSize, 200).Draw(t, "key")
		got, err := LastID(key)
		if err != nil {
			t.Fatalf("LastID(%x): %v", key, err)
		}
		if !bytes.Equal(got, key[len(key)-keys.UUIDSize:]) {
			t.Fatalf("LastID(%x) = %x", key, got)
		}
	})
}

func TestHashKey(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var prefix [keys.PrefixSize]byte
		copy(prefix[:], rapid.SliceOfN(rapid.Byte(), keys.PrefixSize, keys.PrefixSize).Draw(t, "prefix"))
		var dst [1 + keys.PrefixSize]byte
		for i := range dst {
			dst[i] = rapid.Byte().Draw(t, "garbage")
		}
		got := HashKey(&dst, &prefix)
		if len(got) != len(dst) || &got[0] != &dst[0] {
			t.Fatalf("HashKey did not return the caller's buffer (len %d)", len(got))
		}
		if want := cat([]byte("H"), prefix[:]); !bytes.Equal(got, want) {
			t.Fatalf("HashKey = %x, want %x", got, want)
		}
	})
}

var sinkKey []byte

func TestHashKeyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	var prefix [keys.PrefixSize]byte
	var dst [1 + keys.PrefixSize]byte
	if n := testing.AllocsPerRun(100, func() { sinkKey = HashKey(&dst, &prefix) }); n != 0 {
		t.Fatalf("HashKey: %v allocations, want 0", n)
	}
}

func TestClusterNameKey(t *testing.T) {
	var ws keys.WorkspaceID
	setID(t, &ws, seq(0x20, 16))
	// "a" is a prefix of "ab", so its entry is a prefix of the other's.
	// That is fine: name entries are only ever read with Get, never
	// scanned.
	a, ab := ClusterNameKey(ws, "a"), ClusterNameKey(ws, "ab")
	if want := cat([]byte("n"), seq(0x20, 16), []byte("a")); !bytes.Equal(a, want) {
		t.Fatalf("ClusterNameKey(ws, \"a\") = %x, want %x", a, want)
	}
	if want := cat([]byte("n"), seq(0x20, 16), []byte("ab")); !bytes.Equal(ab, want) {
		t.Fatalf("ClusterNameKey(ws, \"ab\") = %x, want %x", ab, want)
	}
	if !bytes.HasPrefix(ab, a) || bytes.Equal(a, ab) {
		t.Fatal("expected ClusterNameKey(ws, \"a\") to be a proper prefix of ClusterNameKey(ws, \"ab\")")
	}
	// The entry is injective in (workspace, name): the workspace id is
	// fixed-length, so no name can shift into it.
	rapid.Check(t, func(t *rapid.T) {
		var w1, w2 keys.WorkspaceID
		drawID(t, "ws1", &w1)
		drawID(t, "ws2", &w2)
		n1 := rapid.String().Draw(t, "name1")
		n2 := rapid.String().Draw(t, "name2")
		k1, k2 := ClusterNameKey(w1, n1), ClusterNameKey(w2, n2)
		wb := w1.Bytes()
		if want := cat([]byte("n"), wb[:], []byte(n1)); !bytes.Equal(k1, want) {
			t.Fatalf("ClusterNameKey = %x, want %x", k1, want)
		}
		if same := w1 == w2 && n1 == n2; same != bytes.Equal(k1, k2) {
			t.Fatalf("(%v, %q) and (%v, %q): keys equal %v", w1, n1, w2, n2, !same)
		}
	})
}

// TestAgentTablePrefixesSorted: an agent's apply walks its tables in the
// order AgentTablePrefixes lists them, next to records sorted by key.
func TestAgentTablePrefixesSorted(t *testing.T) {
	p := AgentTablePrefixes()
	for i := 1; i < len(p); i++ {
		if bytes.Compare(p[i-1], p[i]) >= 0 {
			t.Fatalf("prefix %q listed before %q", p[i-1], p[i])
		}
	}
}
