package client

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/smile-sockets/smile/internal/latency"
)

// newEncoder writes one JSON object a line, with <, > and & as they are:
// the output is for scripts, not for HTML.
func newEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// familyJSON is the JSON spelling of a family as the dialer names it
// (IPv4, IPv6, or "" when no address was dialled).
func familyJSON(family string) string { return strings.ToLower(family) }

func attemptsJSON(attempts []attempt) []Attempt {
	if len(attempts) < 2 {
		return nil
	}
	out := make([]Attempt, len(attempts))
	for i := range attempts {
		a := &attempts[i]
		out[i] = Attempt{Address: a.target(), Family: Family(a.addr.Addr()),
			StartMS: latency.MS(a.start), DurationMS: latency.MS(a.took), Outcome: a.outcome()}
	}
	return out
}

// probeJSON is r as -json prints it.
func probeJSON(r *result) Probe {
	j := Probe{Header: NewHeader(TypeProbe), Target: r.target, Address: r.addr, Family: familyJSON(r.family),
		OK: r.ok(), ConnectMS: latency.MS(r.connect), TotalMS: latency.MS(r.total), Bytes: len(r.data)}
	if r.ok() || r.class == classMismatch {
		g := string(r.data)
		j.Greeting = &g
	}
	if !r.ok() {
		j.Class, j.Stage, j.Error = r.class, r.phase, r.message()
	}
	j.Attempts = attemptsJSON(r.attempts)
	return j
}
