//go:build !amd64 || purego

package prefetch

// Two does nothing on this platform: see the package documentation.
func Two(a, b uintptr) {}
