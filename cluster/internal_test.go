package cluster

import "testing"

// TestTypeNames: Valid holds for exactly the types that have a name.
func TestTypeNames(t *testing.T) {
	for i := range 256 {
		typ := Type(i)
		if _, named := typeNames[typ]; typ.Valid() != named {
			t.Errorf("Type(%d): Valid %v, named %v", i, typ.Valid(), named)
		}
	}
}
