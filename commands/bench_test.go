package commands_test

import (
	"fmt"
	"testing"

	"github.com/roomops/roombot/commands"
)

// BenchmarkList renders the second page of rooms of growing size. Only
// the state counts of the summary grow with the room.
func BenchmarkList(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		l := bigRoom(n)
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				commands.List(l, 2, true, now)
			}
		})
	}
}
