package envflag

import (
	"fmt"
	"slices"
	"strings"
)

// Unknown returns a warning for every variable in environ (KEY=VALUE
// lines, as os.Environ gives them) that starts with Prefix but is not one
// of known, naming the closest known variable: a misspelt SMILE_V6_ONLY
// is otherwise ignored without a word, and the server comes up
// dual-stack.
func Unknown(program string, known, environ []string) []string {
	var warnings []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, Prefix) || slices.Contains(known, name) {
			continue
		}
		w := fmt.Sprintf("%s: warning: %s is not a variable %s reads, so it is ignored", program, name, program)
		if c := closest(name, known); c != "" {
			w += "; did you mean " + c + "?"
		}
		warnings = append(warnings, w)
	}
	return warnings
}

// closest is the known name nearest to name in edits, if it is near
// enough to be a typo: at most a third of the name after the prefix.
func closest(name string, known []string) string {
	best, bestD := "", len(name)
	for _, k := range known {
		if d := distance(strings.ToUpper(name), k); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD > max(2, (len(name)-len(Prefix))/3) {
		return ""
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
