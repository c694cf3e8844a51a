package record

import "github.com/streamauth/streamauth/keys"

// AgentState is what an agent's store records of the snapshot it applied
// last: the cluster it serves, with what an agent's checks need of it (its
// workspace, type and SASL policy), the snapshot's version (so that an
// older one is refused, also after a restart), its expiry, and the
// cluster's key of fake SCRAM salts.
type AgentState struct {
	Cluster     keys.ClusterID
	Workspace   keys.WorkspaceID
	Type, SASL  uint8
	Version     uint64
	Expires     int64
	FakeSaltKey [32]byte
}

// agentStateLen: version, cluster, workspace, type, SASL, snapshot
// version, expires, fake salt key.
const agentStateLen = 1 + 2*keys.UUIDSize + 2 + 8 + 8 + 32

// AppendAgentState appends the encoding of s to b.
func AppendAgentState(b []byte, s *AgentState) []byte {
	start := len(b)
	b = append(b, Version)
	cb, wb := s.Cluster.Bytes(), s.Workspace.Bytes()
	b = append(b, cb[:]...)
	b = append(b, wb[:]...)
	b = append(b, s.Type, s.SASL)
	b = appendInt64(b, int64(s.Version))
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
	if err := idAt(&s.Workspace, body, 1+keys.UUIDSize); err != nil {
		return AgentState{}, err
	}
	off := 1 + 2*keys.UUIDSize
	s.Type, s.SASL = body[off], body[off+1]
	off += 2
	s.Version = uint64(int64At(body, off))
	s.Expires = int64At(body, off+8)
	copy(s.FakeSaltKey[:], body[off+16:])
	return s, nil
}
