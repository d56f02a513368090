package roomclient

import (
	"fmt"
	"testing"
)

// BenchmarkDecoders compares the scanner with the encoding/json decoder
// it replaced, on the same answers, so the choice can be checked again.
func BenchmarkDecoders(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		header := listContent(b, bigRoom(n))
		for _, d := range []struct {
			name string
			fn   func(string, []byte) (*List, error)
		}{{"scanner", decodeList}, {"encoding-json", refDecodeList}} {
			b.Run(fmt.Sprintf("services=%d/%s", n, d.name), func(b *testing.B) {
				b.SetBytes(int64(len(header)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := d.fn("r", header); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
