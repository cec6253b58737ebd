// Package linearcontroller mirrors the *shape* of CPA's linear params (type and package names
// appear in Go's error texts) so that encoding/json answers exactly as it does inside CPA.
package linearcontroller

import (
	"encoding/json"
	"fmt"
)

type linearParams struct {
	CoresPerReplica           float64 `json:"coresPerReplica"`
	NodesPerReplica           float64 `json:"nodesPerReplica"`
	Min                       int     `json:"min"`
	Max                       int     `json:"max"`
	PreventSinglePointFailure bool    `json:"preventSinglePointFailure"`
	IncludeUnschedulableNodes bool    `json:"includeUnschedulableNodes"`
}

// Describe decodes and validates per CPA-COMPAT.md and prints the outcome in the golden format.
func Describe(data []byte) string {
	var p linearParams
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Sprintf("error: could not parse parameters (%s)", err)
	}
	if p.Min < 0 {
		return fmt.Sprintf("error: invalid negative value for min: %v", p.Min)
	}
	if p.Min == 0 {
		p.Min = 1
	}
	if p.Max != 0 && p.Max < p.Min {
		return fmt.Sprintf("error: max replicas count %v should be greater than / equal to min replicas count %v", p.Max, p.Min)
	}
	if p.CoresPerReplica == 0 && p.NodesPerReplica == 0 {
		return "error: should at least provide either CoresPerReplica or NodesPerReplica (Greater than 0)"
	}
	if p.CoresPerReplica < 0 {
		return fmt.Sprintf("error: invalid negative value for coresPerReplica: %v", p.CoresPerReplica)
	}
	if p.NodesPerReplica < 0 {
		return fmt.Sprintf("error: invalid negative value for nodesPerReplica: %v", p.NodesPerReplica)
	}
	return fmt.Sprintf("ok cpr=%v npr=%v min=%d max=%d spof=%t inc=%t", p.CoresPerReplica, p.NodesPerReplica,
		p.Min, p.Max, p.PreventSinglePointFailure, p.IncludeUnschedulableNodes)
}
