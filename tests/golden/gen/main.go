// Command gen writes tests/golden/params.golden.jsonl: for each input of a deterministic corpus,
// what Go's encoding/json (through CPA-shaped structs) answers. The C unit test test_golden
// compares propscaler's answers with these, line by line. Regenerate with
// tests/golden/regenerate.sh (needs Debian's golang-go); CI only reads the committed file.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"sort"
	"strings"

	"propscaler/golden/laddercontroller"
	"propscaler/golden/linearcontroller"
)

type record struct {
	InHex   string `json:"in_hex"` // the input bytes, lossless (they may be invalid UTF-8)
	Linear  string `json:"linear"`
	Ladder  string `json:"ladder"`
	Default string `json:"default"`
}

// describeDefault mimics CPA's --default-params: Unmarshal into map[string]interface{}, then
// Marshal each value. Go 1.22 changed Marshal to write \b and \f instead of \u0008 and \u000c;
// CPA 1.10 is built with a newer Go than Debian's 1.19, so apply that change here.
func describeDefault(data []byte) string {
	var raw map[string]interface{}
	if err := json.Unmarshal(data, &raw); err != nil {
		return "error: " + err.Error()
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v, err := json.Marshal(raw[k])
		if err != nil {
			return "error: " + err.Error()
		}
		s := strings.ReplaceAll(strings.ReplaceAll(string(v), `\u0008`, `\b`), `\u000c`, `\f`)
		fmt.Fprintf(&b, "%s=%s\n", k, s)
	}
	return "ok\n" + b.String()
}

var seeds = []string{
	`{"coresPerReplica":256,"nodesPerReplica":16,"preventSinglePointFailure":true}`,
	`{"coresPerReplica":2,"nodesPerReplica":1,"min":1,"max":100,"preventSinglePointFailure":true,"includeUnschedulableNodes":true}`,
	`{"coresToReplicas":[[1,1],[64,3],[512,5],[1024,7],[2048,10],[4096,15]],"nodesToReplicas":[[1,1],[2,2]]}`,
	`{"nodesToReplicas":[[0,0],[6,1]]}`,
	`{"linear":{"coresPerReplica":256,"nodesPerReplica":16,"min":1e2}}`,
	`{"ladder":{"coresToReplicas":[[1,1]]},"x":[1.5e300,-0,"<&>",null,true]}`,
	`{"MIN":"3","Max":2.5,"CORESPERREPLICA":-1e-7,"nodesperreplica":null}`,
	`{"coresToReplicas":[[1],[],[2,3,4],null],"includeUnschedulableNodes":false}`,
	`{"a":"\u00e9\ud83d\ude00\ud800x","b":"\/\"\\\n\t"}`,
	`[1, 2.0, -3e-2, {"k": [true, false, null]}]`,
	`{"min": -1, "max": 99999999999999999999, "nodesPerReplica": 0.7}`,
	`{"coreſPerReplica": 3, "KELVIN": 1}`,
	`  {  "nodesPerReplica" : 1 , "min" : 0 }  `,
}

const alphabet = "{}[],:\"\\ 0123456789.eE+-truefalsenull abcMINmax\t\n\u00e9\x7f\x01"

func mutate(r *rand.Rand, s string) string {
	b := []byte(s)
	for n := 1 + r.Intn(3); n > 0; n-- {
		if len(b) == 0 {
			b = append(b, alphabet[r.Intn(len(alphabet))])
			continue
		}
		i := r.Intn(len(b))
		switch r.Intn(3) {
		case 0: // delete
			b = append(b[:i], b[i+1:]...)
		case 1: // insert
			b = append(b[:i], append([]byte{alphabet[r.Intn(len(alphabet))]}, b[i:]...)...)
		default: // replace
			b[i] = alphabet[r.Intn(len(alphabet))]
		}
	}
	return string(b)
}

// The slice-growth policy of json.Unmarshal changed after Go 1.19; it is only observable when a
// ladder key repeats, so such inputs are left out of the golden file (unit tests cover them).
func repeatsLadderKey(s string) bool {
	l := strings.ToLower(s)
	return strings.Count(l, "torepli") > 1 && (strings.Count(l, "corestorepli") > 1 || strings.Count(l, "nodestorepli") > 1)
}

func main() {
	r := rand.New(rand.NewSource(20261124))
	var inputs []string
	inputs = append(inputs, seeds...)
	for i := 0; i < 4000; i++ {
		inputs = append(inputs, mutate(r, seeds[r.Intn(len(seeds))]))
	}
	// Float formatting: %v in validation messages and Marshal in --default-params.
	for i := 0; i < 600; i++ {
		var f float64
		switch i % 4 {
		case 0:
			f = math.Float64frombits(r.Uint64())
		case 1:
			f = math.Ldexp(1, r.Intn(2000)-1000) // powers of two: lopsided rounding intervals
		case 2:
			f = r.Float64() * math.Pow(10, float64(r.Intn(44)-22))
		default:
			f = float64(r.Int63n(1 << 53))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		lit := fmt.Sprintf("%.17g", math.Abs(f))
		inputs = append(inputs, fmt.Sprintf(`{"coresPerReplica":-%s,"x":%s}`, lit, lit))
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, in := range inputs {
		if strings.ContainsRune(in, 0) || repeatsLadderKey(in) {
			continue
		}
		rec := record{InHex: hex.EncodeToString([]byte(in)), Linear: linearcontroller.Describe([]byte(in)),
			Ladder: laddercontroller.Describe([]byte(in)), Default: describeDefault([]byte(in))}
		if err := enc.Encode(rec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
