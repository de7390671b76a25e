//go:build linux

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFirstFailureSaysWhy: a failed smile-client row is reported with its
// classes and its first failed probe, read from the -json output.
func TestFirstFailureSaysWhy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "client")
	require.NoError(t, os.WriteFile(path, []byte(`{"schema_version":1,"type":"probe","target":"a","ok":true}
{"schema_version":1,"type":"probe","target":"a","ok":false,"class":"timeout","error":"can't read the greeting from 127.0.0.1:1: timeout"}
{"schema_version":1,"type":"probe","target":"a","ok":false,"class":"refused","error":"can't connect to 127.0.0.1:1: refused"}
{"schema_version":1,"type":"summary","target":"a","ok":false,"probes":3,"ok_probes":1,"failed_probes":2,"classes":{"refused":1,"timeout":1}}
`), 0o600))
	assert.Equal(t, " (classes map[refused:1 timeout:1]; first failure: can't read the greeting from 127.0.0.1:1: timeout)", firstFailure(path))
}
