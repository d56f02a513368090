package roomclient

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when any test leaves a goroutine behind,
// from the client or from the simulator.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
