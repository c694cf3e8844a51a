package record

import "github.com/streamauth/streamauth/keys"

// AgentState is what an agent's store records of the snapshot it applied
// last: the cluster it serves, the snapshot's version (so that an older one
// is refused, also after a restart), its validity, and the cluster's key of
// fake SCRAM salts.
type AgentState struct {
	Cluster     keys.ClusterID
	Version     uint64
	Issued      int64
	Expires     int64
	FakeSaltKey [32]byte
}

// agentStateLen: version, cluster, snapshot version, issued, expires, fake
// salt key.
const agentStateLen = 1 + keys.UUIDSize + 8 + 8 + 8 + 32

// AppendAgentState appends the encoding of s to b.
func AppendAgentState(b []byte, s *AgentState) []byte {
	start := len(b)
	b = append(b, Version)
	cb := s.Cluster.Bytes()
	b = append(b, cb[:]...)
	b = appendInt64(b, int64(s.Version))
	b = appendInt64(b, s.Issued)
	b = appendInt64(b, s.Expires)
	b = append(b, s.FakeSaltKey[:]...)
	return seal(b, start)
}

// DecodeAgentState decodes an agent state record.
func DecodeAgentState(b []byte) (AgentState, error) {
	body, err := open(b, agentStateLen)
	if err != nil {
		return AgentState{}, err
	}
	if len(body) != agentStateLen {
		return AgentState{}, errLength
	}
	var s AgentState
	if err := idAt(&s.Cluster, body, 1); err != nil {
		return AgentState{}, err
	}
	off := 1 + keys.UUIDSize
	s.Version = uint64(int64At(body, off))
	s.Issued = int64At(body, off+8)
	s.Expires = int64At(body, off+16)
	copy(s.FakeSaltKey[:], body[off+24:])
	return s, nil
}
