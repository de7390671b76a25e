package client

import (
	"strings"

	"github.com/smile-sockets/smile/internal/latency"
)

// probeJSON is one probe as -json prints it.
type probeJSON struct {
	Target    string  `json:"target"`
	Address   string  `json:"address,omitempty"`
	Family    string  `json:"family,omitempty"`
	ConnectMS float64 `json:"connect_ms"`
	TotalMS   float64 `json:"total_ms"`
	Bytes     int     `json:"bytes"`
	Greeting  *string `json:"greeting,omitempty"`
	OK        bool    `json:"ok"`
	Class     string  `json:"class,omitempty"`
	Stage     string  `json:"stage,omitempty"` // where it failed: resolve, connect, read, expect
	Error     string  `json:"error,omitempty"`
	// Attempts are the addresses of a name, each with its outcome, when
	// more than one was dialled.
	Attempts []attemptJSON `json:"attempts,omitempty"`
}

// attemptJSON is one address a probe dialled.
type attemptJSON struct {
	Address string  `json:"address"`
	Family  string  `json:"family"`
	StartMS float64 `json:"start_ms"` // since the probe started
	MS      float64 `json:"ms"`       // how long the attempt took
	Outcome string  `json:"outcome"`  // connected, abandoned, not tried, or a failure's class
}

func attemptsJSON(attempts []attempt) []attemptJSON {
	if len(attempts) < 2 {
		return nil
	}
	out := make([]attemptJSON, len(attempts))
	for i := range attempts {
		a := &attempts[i]
		out[i] = attemptJSON{Address: a.target(), Family: strings.ToLower(a.family()),
			StartMS: latency.MS(a.start), MS: latency.MS(a.took), Outcome: a.outcome()}
	}
	return out
}

func toJSON(r *result) probeJSON {
	j := probeJSON{Target: r.target, Address: r.addr, Family: strings.ToLower(r.family),
		ConnectMS: latency.MS(r.connect), TotalMS: latency.MS(r.total), Bytes: len(r.data), OK: r.ok(), Class: r.class}
	if r.ok() || r.class == classMismatch {
		g := string(r.data)
		j.Greeting = &g
	}
	if !r.ok() {
		j.Error, j.Stage = r.message(), r.phase
	}
	j.Attempts = attemptsJSON(r.attempts)
	return j
}
