package cluster_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/streamauth/streamauth/cluster"
)

func TestTypes(t *testing.T) {
	for _, tc := range []struct {
		typ        cluster.Type
		name       string
		byoc       bool
		defaultSAS cluster.SASLPolicy
	}{
		{cluster.BYOC, "byoc", true, cluster.SASLOff},
		{cluster.Serverless, "serverless", false, cluster.SASLRequired},
		{cluster.BYOCSchemaRegistry, "byoc_schema_registry", true, cluster.SASLOff},
	} {
		if !tc.typ.Valid() || tc.typ.String() != tc.name {
			t.Errorf("%d: Valid=%v String=%q, want true %q", tc.typ, tc.typ.Valid(), tc.typ.String(), tc.name)
		}
		if tc.typ.IsBYOC() != tc.byoc || tc.typ.HasAgents() != tc.byoc {
			t.Errorf("%s: IsBYOC=%v HasAgents=%v, want %v", tc.name, tc.typ.IsBYOC(), tc.typ.HasAgents(), tc.byoc)
		}
		if got := tc.typ.DefaultSASL(); got != tc.defaultSAS {
			t.Errorf("%s: DefaultSASL = %v, want %v", tc.name, got, tc.defaultSAS)
		}
		parsed, err := cluster.ParseType(tc.name)
		if err != nil || parsed != tc.typ {
			t.Errorf("ParseType(%q) = %v, %v", tc.name, parsed, err)
		}
	}
	for _, bad := range []cluster.Type{0, 4, 255} {
		if bad.Valid() || bad.IsBYOC() || bad.HasAgents() {
			t.Errorf("type %d: Valid, IsBYOC or HasAgents", bad)
		}
		if err := bad.CheckSASL(cluster.SASLRequired); !errors.Is(err, cluster.ErrInvalid) {
			t.Errorf("CheckSASL on type %d = %v, want ErrInvalid", bad, err)
		}
	}
	for _, s := range []string{"", "BYOC", "byoc ", "hosted"} {
		if _, err := cluster.ParseType(s); !errors.Is(err, cluster.ErrInvalid) {
			t.Errorf("ParseType(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

func TestCheckSASL(t *testing.T) {
	for _, tc := range []struct {
		typ cluster.Type
		p   cluster.SASLPolicy
		ok  bool
	}{
		{cluster.BYOC, cluster.SASLOff, true},
		{cluster.BYOC, cluster.SASLRequired, true},
		{cluster.BYOCSchemaRegistry, cluster.SASLOff, true},
		{cluster.Serverless, cluster.SASLRequired, true},
		{cluster.Serverless, cluster.SASLOff, false}, // rule 9
		{cluster.BYOC, 0, false},
		{cluster.BYOC, 3, false},
	} {
		err := tc.typ.CheckSASL(tc.p)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, cluster.ErrInvalid)) {
			t.Errorf("%v.CheckSASL(%v) = %v, want ok=%v", tc.typ, tc.p, err, tc.ok)
		}
	}
}

func TestSASLPolicy(t *testing.T) {
	if !cluster.SASLOff.AllowsUnauthenticated() || cluster.SASLRequired.AllowsUnauthenticated() {
		t.Error("AllowsUnauthenticated: want true for off, false for required")
	}
	if cluster.SASLPolicy(0).AllowsUnauthenticated() || cluster.SASLPolicy(0).Valid() {
		t.Error("the zero policy must be invalid and allow nothing")
	}
	if cluster.SASLOff.String() != "off" || cluster.SASLRequired.String() != "required" || cluster.SASLPolicy(9).String() != "cluster.SASLPolicy(9)" {
		t.Error("String")
	}
}

func ExampleType_DefaultSASL() {
	for _, t := range []cluster.Type{cluster.BYOC, cluster.Serverless} {
		p := t.DefaultSASL()
		fmt.Printf("%s: SASL %s, unauthenticated connections allowed: %v\n", t, p, p.AllowsUnauthenticated())
	}
	// Output:
	// byoc: SASL off, unauthenticated connections allowed: true
	// serverless: SASL required, unauthenticated connections allowed: false
}

func ExampleType_CheckSASL() {
	err := cluster.Serverless.CheckSASL(cluster.SASLOff)
	fmt.Println(errors.Is(err, cluster.ErrInvalid))
	// Output: true
}
