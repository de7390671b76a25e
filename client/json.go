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
	Error     string  `json:"error,omitempty"`
}

func toJSON(r *result) probeJSON {
	j := probeJSON{Target: r.target, Address: r.addr, Family: strings.ToLower(r.family),
		ConnectMS: latency.MS(r.connect), TotalMS: latency.MS(r.total), Bytes: len(r.data), OK: r.ok(), Class: r.class}
	if r.ok() || r.class == classMismatch {
		g := string(r.data)
		j.Greeting = &g
	}
	if !r.ok() {
		j.Error = r.message()
	}
	return j
}
