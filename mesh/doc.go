// Package mesh is smile-server's mesh mode: one server per host greets
// every address of every other host over each family, every interval, and
// says what it found as this node's row (/mesh.json), as Prometheus
// metrics (/metrics), and, assembled from every peer's row, as a matrix
// (/matrix.json) and a page that draws it (/).
//
// The files follow a round: discovery.go (the -mesh spec, the peer set as
// DNS lists it, the host's own addresses), rotation.go (which peers a round
// probes when there are more than -mesh-peers), probe.go (the rounds and
// their probes, through package client's dialling and classes), udp.go
// (the probe datagrams beside each greeting, through package dgram: loss,
// round trip, hops, and the path MTU on a slower cadence), state.go
// (each destination's cell and this node's row), compact.go (the row in
// the compact form gatherings ask for: a class code a cell, and what a
// gathering keeps of a row in either form, against one table of addresses
// and classes the gathering shares), fetch.go (one peer's row
// fetched over HTTP, bounded and checked), gather.go (every peer's row
// fetched in turn and put together, and peers' addresses attributed to
// their nodes), matrixform.go (the matrix, schema_version 2: a column per
// address, a code per cell, its rows made one at a time as they are
// encoded), matrix.go (its cache, encoded once), metrics.go (the
// Prometheus collector), received.go (the peer set's addresses, whose
// probes the server counts rather than logs), http.go (the endpoints) and
// page.go (the embedded page).
package mesh
