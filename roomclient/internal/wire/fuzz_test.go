package wire

import (
	"encoding/binary"
	"encoding/json"
	"testing"
)

// FuzzDecode feeds arbitrary bytes, cut into frames, to the Assembler and
// unpacks and parses whatever messages come out. It must never panic, and a
// completed message must never exceed MaxBody nor its type MaxType.
//
// The input is a sequence of frames, each prefixed with a 2-byte length,
// so the fuzzer can shape both frame boundaries and frame contents.
func FuzzDecode(f *testing.F) {
	for _, g := range golden {
		var in []byte
		for _, dump := range g.frames {
			in = appendFramed(in, parseDump(f, dump))
		}
		f.Add(in)
	}
	var multi []byte
	for _, fr := range Encode(3, TypeResponse, Pack([]byte(`{"type":"empty"}`), testBody(2500)), 7) {
		multi = appendFramed(multi, fr)
	}
	f.Add(multi)

	f.Fuzz(func(t *testing.T, in []byte) {
		a := Assembler{MaxBody: 1 << 16}
		for len(in) >= 2 {
			n := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			n = min(n, len(in))
			msg, done, _ := a.Feed(in[:n])
			in = in[n:]
			if !done {
				continue
			}
			if len(msg.Body) > a.MaxBody {
				t.Fatalf("message of %d bytes passed MaxBody", len(msg.Body))
			}
			if len(msg.Type) > MaxType {
				t.Fatalf("type of %d bytes passed MaxType", len(msg.Type))
			}
			header, _, err := Unpack(msg.Body)
			if err != nil {
				continue
			}
			var v map[string]any
			_ = json.Unmarshal(header, &v)
		}
	})
}

func appendFramed(b, frame []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(frame)))
	return append(b, frame...)
}
