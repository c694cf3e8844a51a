package record

// A staged change is one write of a large apply, held under StagedKey of
// the key it changes until it is moved into place: a put of a value, or a
// delete. Its value: version, op (0 delete, 1 put), the value put, and the
// checksum of them all.
const (
	stagedDelete = 0
	stagedPut    = 1
)

// AppendStaged appends the encoding of a staged change to b: a delete if
// del, else a put of value.
func AppendStaged(b []byte, del bool, value []byte) []byte {
	start := len(b)
	op := byte(stagedPut)
	if del {
		op = stagedDelete
	}
	b = append(b, Version, op)
	b = append(b, value...)
	return seal(b, start)
}

// DecodeStaged decodes a staged change: the value it puts, or del. The
// value shares b's bytes.
func DecodeStaged(b []byte) (value []byte, del bool, err error) {
	body, err := open(b, 2)
	if err != nil {
		return nil, false, err
	}
	switch body[1] {
	case stagedDelete:
		if len(body) != 2 {
			return nil, false, errLength
		}
		return nil, true, nil
	case stagedPut:
		return body[2:], false, nil
	}
	return nil, false, errField
}
