package prefetch

import (
	"testing"
	"unsafe"
)

// TestTwo: a prefetch changes no memory, and neither an unmapped address
// nor the nil one faults.
func TestTwo(t *testing.T) {
	buf := make([]byte, 256)
	for i := range buf {
		buf[i] = byte(i)
	}
	Two(uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&buf[200])))
	Two(0, ^uintptr(0)-63)
	for i := range buf {
		if buf[i] != byte(i) {
			t.Fatalf("byte %d changed to %d", i, buf[i])
		}
	}
}
