// Package bench holds streamauth's benchmarks. It has no code of its own.
package bench
