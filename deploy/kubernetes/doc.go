// Package kubernetes holds the manifests that run smile across a cluster
// (kubectl apply -k deploy/kubernetes) and the tests that keep them honest
// without a cluster: every object decodes strictly into the Kubernetes API
// types, every container's args and env pass the programs' own parsers, the images
// are the ones the Makefile builds, and the hardening stays on; and that the
// workflows (.github/workflows, kind.yml above all) name no image their
// jobs' make commands do not build. It has no code of its own; it exists
// so that go test finds those tests.
package kubernetes
