package store

import "slices"

// OpKind says what an [Op] does.
type OpKind uint8

// The operations of a batch.
const (
	OpPut    OpKind = iota + 1 // set Key to Value
	OpDelete                   // remove Key; deleting an absent key is not an error
)

// Op is one write of a batch.
type Op struct {
	Kind  OpKind
	Key   []byte
	Value []byte // OpPut only
}

// GuardKind says what a [Guard] requires.
type GuardKind uint8

// The guards of a batch.
const (
	GuardAbsent  GuardKind = iota + 1 // Key is absent
	GuardPresent                      // Key is present, with any value
	GuardEqual                        // Key is present and holds exactly Value
)

// Guard is a precondition of a batch, checked against the state just before
// the batch.
type Guard struct {
	Kind  GuardKind
	Key   []byte
	Value []byte // GuardEqual only
}

// Batch is a set of writes applied atomically by [Store.Commit], under
// guards. Operations apply in the order they were added, so a later write to
// a key wins. The zero Batch is empty and ready to use. A Batch is not safe
// for concurrent use.
//
// A batch keeps the slices it is given until Commit; callers must not modify
// them before then.
type Batch struct {
	ops    []Op
	guards []Guard
}

// Put adds a write of value to key.
func (b *Batch) Put(key, value []byte) *Batch {
	b.ops = append(b.ops, Op{Kind: OpPut, Key: key, Value: value})
	return b
}

// Delete adds a deletion of key.
func (b *Batch) Delete(key []byte) *Batch {
	b.ops = append(b.ops, Op{Kind: OpDelete, Key: key})
	return b
}

// RequireAbsent guards the batch on key being absent.
func (b *Batch) RequireAbsent(key []byte) *Batch {
	b.guards = append(b.guards, Guard{Kind: GuardAbsent, Key: key})
	return b
}

// RequirePresent guards the batch on key being present.
func (b *Batch) RequirePresent(key []byte) *Batch {
	b.guards = append(b.guards, Guard{Kind: GuardPresent, Key: key})
	return b
}

// RequireValue guards the batch on key holding exactly value.
func (b *Batch) RequireValue(key, value []byte) *Batch {
	b.guards = append(b.guards, Guard{Kind: GuardEqual, Key: key, Value: value})
	return b
}

// Ops returns the batch's writes in order. Backends read it; the slice must
// not be modified.
func (b *Batch) Ops() []Op { return b.ops }

// Guards returns the batch's guards. Backends read it; the slice must not be
// modified.
func (b *Batch) Guards() []Guard { return b.guards }

// Len returns the number of writes in the batch.
func (b *Batch) Len() int { return len(b.ops) }

// Grow makes room for n more operations, so that a caller that knows how
// many it adds does not grow the batch step by step.
func (b *Batch) Grow(n int) {
	b.ops = slices.Grow(b.ops, n)
}

// Reset empties the batch for reuse.
func (b *Batch) Reset() {
	clear(b.ops)
	clear(b.guards)
	b.ops, b.guards = b.ops[:0], b.guards[:0]
}

// Validate checks every key and value of the batch against the limits, and
// that every op and guard has a known kind. Backends call it before taking
// any lock, so that a bad batch writes nothing.
func (b *Batch) Validate() error {
	for _, op := range b.ops {
		if err := CheckKey(op.Key); err != nil {
			return err
		}
		switch op.Kind {
		case OpPut:
			if len(op.Value) > MaxValueSize {
				return errLongValue
			}
		case OpDelete:
		default:
			return errBadKind
		}
	}
	for _, g := range b.guards {
		if err := CheckKey(g.Key); err != nil {
			return err
		}
		switch g.Kind {
		case GuardAbsent, GuardPresent, GuardEqual:
		default:
			return errBadKind
		}
	}
	return nil
}
