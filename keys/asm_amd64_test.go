//go:build amd64 && !purego

package keys

import (
	"crypto/fips140"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestFeaturesMatchCPUInfo checks CPUID's reading against the flags Linux
// reports, so that a wrong bit, leaf or register, which would quietly turn
// the assembly off (or on where it cannot run), fails a test.
func TestFeaturesMatchCPUInfo(t *testing.T) {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skipf("no /proc/cpuinfo: %v", err)
	}
	var flags map[string]bool
	for line := range strings.Lines(string(info)) {
		name, value, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(name) == "flags" {
			flags = make(map[string]bool)
			for _, f := range strings.Fields(value) {
				flags[f] = true
			}
			break
		}
	}
	if flags == nil {
		t.Skip("no flags line in /proc/cpuinfo")
	}
	sha, crc, ssse3 := features(false)
	if want := flags["ssse3"]; ssse3 != want {
		t.Errorf("SSSE3 = %v, /proc/cpuinfo says %v", ssse3, want)
	}
	if want := flags["sse4_2"]; crc != want {
		t.Errorf("SSE4.2 = %v, /proc/cpuinfo says %v", crc, want)
	}
	if want := flags["sha_ni"] && flags["ssse3"]; sha != want {
		t.Errorf("SHA extensions = %v, /proc/cpuinfo says %v", sha, want)
	}
	if wantSHA := sha && !fips140.Enabled(); useSHA != wantSHA || useCRC32 != crc || useSSSE3 != ssse3 {
		t.Errorf("switches = %v, %v, %v; want %v, %v, %v", useSHA, useCRC32, useSSSE3, wantSHA, crc, ssse3)
	}
}

// TestFeaturesFIPS checks that FIPS 140 mode keeps digests in Go's
// validated module, both in features and in the package's switch, by
// running this test again under GODEBUG=fips140=on.
func TestFeaturesFIPS(t *testing.T) {
	if os.Getenv("STREAMAUTH_KEYS_FIPS_CHILD") == "1" {
		if !fips140.Enabled() {
			t.Fatal("GODEBUG=fips140=on did not enable FIPS 140 mode")
		}
		if useSHA || mustHasher(t, nil).blocks {
			t.Fatal("the SHA-256 assembly is in use in FIPS 140 mode")
		}
		return
	}
	if sha, _, _ := features(true); sha {
		t.Fatal("features(fips) allows the SHA-256 assembly")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFeaturesFIPS$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GODEBUG=fips140=on", "STREAMAUTH_KEYS_FIPS_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("under GODEBUG=fips140=on: %v\n%s", err, out)
	}
}
