// Package prefetch asks the processor to start reading memory that the
// caller will read soon, without waiting for it.
//
// A lookup in a hash table that lives in main memory often reads two
// places one after the other: an index (a group's tags, say) and then the
// slot the index points to. When the slot can be guessed before the index
// is read, asking for it first lets the two reads overlap, so the lookup
// waits on memory once rather than twice. A plain load would do the same
// for a right guess, but the processor cannot finish the lookup until a
// load completes, so a wrong guess (a key that is not there at all) would
// wait on memory the lookup never needed. A prefetch is only a hint: the
// processor may drop it, it never faults, and nothing waits for it.
//
// On amd64 [Two] is two PREFETCHT0 instructions; elsewhere, and with the
// purego build tag, it does nothing.
package prefetch
