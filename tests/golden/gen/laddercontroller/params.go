// Package laddercontroller mirrors the shape of CPA's ladder params for the golden generator.
package laddercontroller

import (
	"encoding/json"
	"fmt"
	"sort"
)

type paramEntry [2]int
type paramEntries []paramEntry

type ladderParams struct {
	CoresToReplicas           paramEntries `json:"coresToReplicas"`
	NodesToReplicas           paramEntries `json:"nodesToReplicas"`
	IncludeUnschedulableNodes bool         `json:"includeUnschedulableNodes"`
}

func check(entries paramEntries, name string) error {
	for _, e := range entries {
		if e[0] < 0 || e[1] < 0 {
			return fmt.Errorf("invalid negative values in entry %v in %s", e, name)
		}
	}
	return nil
}

// Describe decodes, validates and sorts per CPA-COMPAT.md and prints the golden format.
func Describe(data []byte) string {
	var p ladderParams
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Sprintf("error: could not parse parameters (%s)", err)
	}
	if err := check(p.CoresToReplicas, "cores_to_replicas_map"); err != nil {
		return "error: " + err.Error()
	}
	if err := check(p.NodesToReplicas, "nodes_to_replicas_map"); err != nil {
		return "error: " + err.Error()
	}
	sort.SliceStable(p.CoresToReplicas, func(i, j int) bool { return p.CoresToReplicas[i][0] < p.CoresToReplicas[j][0] })
	sort.SliceStable(p.NodesToReplicas, func(i, j int) bool { return p.NodesToReplicas[i][0] < p.NodesToReplicas[j][0] })
	return fmt.Sprintf("ok cores=%v nodes=%v inc=%t", p.CoresToReplicas, p.NodesToReplicas, p.IncludeUnschedulableNodes)
}
