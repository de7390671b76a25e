package procfs

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadUsageOfThisProcess(t *testing.T) {
	u, err := ReadUsage(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, u.RSSKB)
	assert.GreaterOrEqual(t, u.HWMKB, u.RSSKB)
	status, err := ReadStatus(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, status["Threads"])
}

func TestReadStatusFieldsOfThisProcess(t *testing.T) {
	fields, err := ReadStatusFields(os.Getpid())
	require.NoError(t, err)
	assert.NotEmpty(t, fields["Name"], "a text field is read")
	assert.NotEmpty(t, fields["CapEff"])
	assert.NotEmpty(t, fields["Uid"])
}

func TestTimeWaitInAMissingNamespace(t *testing.T) {
	_, err := TimeWaitIn("/proc/0/net", 7890)
	assert.Error(t, err, "no process 0: the namespace is out of reach")
}
