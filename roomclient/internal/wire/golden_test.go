package wire

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// The dumps below are the examples of section 3.5 of the room protocol,
// as printed there: offset, then up to 16 bytes in hex, then ASCII.
var golden = []struct {
	name   string
	id     uint64
	typ    string
	header string // the JSON header, byte for byte
	frames []string
	encode func() ([]byte, error) // how this project produces the body
}{
	{
		name: "list request",
		id:   1,
		typ:  TypeInvokeTool,
		header: `{"toolkit":"services","tool":"list","arguments":` +
			`{"type":"json","json":{}},"tool_call_id":"c0ffee"}`,
		encode: func() ([]byte, error) { return PackJSON(ListCall("c0ffee")) },
		frames: []string{`
0000  00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 01  ................
0010  72 6f 6f 6d 2e 69 6e 76 6f 6b 65 5f 74 6f 6f 6c  room.invoke_tool`, `
0000  00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00  ................
0010  00 00 00 62 7b 22 74 6f 6f 6c 6b 69 74 22 3a 22  ...b{"toolkit":"
0020  73 65 72 76 69 63 65 73 22 2c 22 74 6f 6f 6c 22  services","tool"
0030  3a 22 6c 69 73 74 22 2c 22 61 72 67 75 6d 65 6e  :"list","argumen
0040  74 73 22 3a 7b 22 74 79 70 65 22 3a 22 6a 73 6f  ts":{"type":"jso
0050  6e 22 2c 22 6a 73 6f 6e 22 3a 7b 7d 7d 2c 22 74  n","json":{}},"t
0060  6f 6f 6c 5f 63 61 6c 6c 5f 69 64 22 3a 22 63 30  ool_call_id":"c0
0070  66 66 65 65 22 7d                                ffee"}`},
	},
	{
		name: "restart request",
		id:   2,
		typ:  TypeInvokeTool,
		header: `{"toolkit":"services","tool":"restart","arguments":` +
			`{"type":"json","json":{"service_id":"svc-1"}},` +
			`"tool_call_id":"beef01"}`,
		encode: func() ([]byte, error) {
			return PackJSON(RestartCall("svc-1", "beef01"))
		},
		frames: []string{`
0000  00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 01  ................
0010  72 6f 6f 6d 2e 69 6e 76 6f 6b 65 5f 74 6f 6f 6c  room.invoke_tool`, `
0000  00 00 00 00 00 00 00 02 00 00 00 01 00 00 00 00  ................
0010  00 00 00 79 7b 22 74 6f 6f 6c 6b 69 74 22 3a 22  ...y{"toolkit":"
0020  73 65 72 76 69 63 65 73 22 2c 22 74 6f 6f 6c 22  services","tool"
0030  3a 22 72 65 73 74 61 72 74 22 2c 22 61 72 67 75  :"restart","argu
0040  6d 65 6e 74 73 22 3a 7b 22 74 79 70 65 22 3a 22  ments":{"type":"
0050  6a 73 6f 6e 22 2c 22 6a 73 6f 6e 22 3a 7b 22 73  json","json":{"s
0060  65 72 76 69 63 65 5f 69 64 22 3a 22 73 76 63 2d  ervice_id":"svc-
0070  31 22 7d 7d 2c 22 74 6f 6f 6c 5f 63 61 6c 6c 5f  1"}},"tool_call_
0080  69 64 22 3a 22 62 65 65 66 30 31 22 7d           id":"beef01"}`},
	},
	{
		name:   "empty response",
		id:     2,
		typ:    TypeResponse,
		header: `{"type":"empty"}`,
		frames: []string{`
0000  00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 01  ................
0010  5f 5f 72 65 73 70 6f 6e 73 65 5f 5f              __response__`, `
0000  00 00 00 00 00 00 00 02 00 00 00 01 00 00 00 00  ................
0010  00 00 00 10 7b 22 74 79 70 65 22 3a 22 65 6d 70  ....{"type":"emp
0020  74 79 22 7d                                      ty"}`},
	},
	{
		name:   "error response",
		id:     2,
		typ:    TypeResponse,
		header: `{"type":"error","text":"service not found","code":7001}`,
		frames: []string{`
0000  00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 01  ................
0010  5f 5f 72 65 73 70 6f 6e 73 65 5f 5f              __response__`, `
0000  00 00 00 00 00 00 00 02 00 00 00 01 00 00 00 00  ................
0010  00 00 00 37 7b 22 74 79 70 65 22 3a 22 65 72 72  ...7{"type":"err
0020  6f 72 22 2c 22 74 65 78 74 22 3a 22 73 65 72 76  or","text":"serv
0030  69 63 65 20 6e 6f 74 20 66 6f 75 6e 64 22 2c 22  ice not found","
0040  63 6f 64 65 22 3a 37 30 30 31 7d                 code":7001}`},
	},
	{
		name: "room_ready",
		id:   1,
		typ:  TypeRoomReady,
		header: `{"room_name":"myroom","room_url":` +
			`"ws://127.0.0.1:8080/rooms/myroom","session_id":"sess-1"}`,
		frames: []string{`
0000  00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 01  ................
0010  72 6f 6f 6d 5f 72 65 61 64 79                    room_ready`, `
0000  00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00  ................
0010  00 00 00 5a 7b 22 72 6f 6f 6d 5f 6e 61 6d 65 22  ...Z{"room_name"
0020  3a 22 6d 79 72 6f 6f 6d 22 2c 22 72 6f 6f 6d 5f  :"myroom","room_
0030  75 72 6c 22 3a 22 77 73 3a 2f 2f 31 32 37 2e 30  url":"ws://127.0
0040  2e 30 2e 31 3a 38 30 38 30 2f 72 6f 6f 6d 73 2f  .0.1:8080/rooms/
0050  6d 79 72 6f 6f 6d 22 2c 22 73 65 73 73 69 6f 6e  myroom","session
0060  5f 69 64 22 3a 22 73 65 73 73 2d 31 22 7d        _id":"sess-1"}`},
	},
	{
		name: "connected",
		id:   2,
		typ:  TypeConnected,
		header: `{"type":"init","participantId":"p-1",` +
			`"attributes":{"name":"go-cli"}}`,
		frames: []string{`
0000  00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 01  ................
0010  63 6f 6e 6e 65 63 74 65 64                       connected`, `
0000  00 00 00 00 00 00 00 02 00 00 00 01 00 00 00 00  ................
0010  00 00 00 44 7b 22 74 79 70 65 22 3a 22 69 6e 69  ...D{"type":"ini
0020  74 22 2c 22 70 61 72 74 69 63 69 70 61 6e 74 49  t","participantI
0030  64 22 3a 22 70 2d 31 22 2c 22 61 74 74 72 69 62  d":"p-1","attrib
0040  75 74 65 73 22 3a 7b 22 6e 61 6d 65 22 3a 22 67  utes":{"name":"g
0050  6f 2d 63 6c 69 22 7d 7d                          o-cli"}}`},
	},
}

// parseDump reads the hex columns of a dump, ignoring offsets and ASCII.
func parseDump(t testing.TB, dump string) []byte {
	t.Helper()
	var out []byte
	for _, line := range strings.Split(strings.TrimSpace(dump), "\n") {
		fields := strings.Fields(line)
		for _, f := range fields[1:min(len(fields), 17)] {
			if len(f) != 2 {
				break
			}
			b, err := hex.DecodeString(f)
			if err != nil {
				break
			}
			out = append(out, b...)
		}
	}
	return out
}

func TestGoldenEncode(t *testing.T) {
	for _, g := range golden {
		t.Run(g.name, func(t *testing.T) {
			body := Pack([]byte(g.header), nil)
			if g.encode != nil {
				got, err := g.encode()
				if err != nil {
					t.Fatalf("encoding the body: %v", err)
				}
				if !bytes.Equal(got, body) {
					t.Fatalf("body = %q, want %q", got, body)
				}
			}
			frames := Encode(g.id, g.typ, body, 0)
			if len(frames) != len(g.frames) {
				t.Fatalf("Encode gave %d frames, want %d", len(frames), len(g.frames))
			}
			for i, want := range g.frames {
				if w := parseDump(t, want); !bytes.Equal(frames[i], w) {
					t.Errorf("frame %d =\n%s\nwant\n%s", i, hex.Dump(frames[i]), hex.Dump(w))
				}
			}
		})
	}
}

func TestGoldenDecode(t *testing.T) {
	for _, g := range golden {
		t.Run(g.name, func(t *testing.T) {
			var a Assembler
			var msg Message
			for i, dump := range g.frames {
				m, done, err := a.Feed(parseDump(t, dump))
				if err != nil {
					t.Fatalf("Feed(frame %d): %v", i, err)
				}
				if done != (i == len(g.frames)-1) {
					t.Fatalf("Feed(frame %d) done = %v", i, done)
				}
				msg = m
			}
			if msg.ID != g.id || msg.Type != g.typ {
				t.Errorf("message = (%d, %q), want (%d, %q)", msg.ID, msg.Type, g.id, g.typ)
			}
			header, payload, err := Unpack(msg.Body)
			if err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			if string(header) != g.header || len(payload) != 0 {
				t.Errorf("Unpack = %q, %q; want %q, no payload", header, payload, g.header)
			}
		})
	}
}

// TestGoldenMultiFrame pins the section 3.5 case of a 2,500-byte body:
// N = 3, and data frames of 1036, 1036 and 464 bytes.
func TestGoldenMultiFrame(t *testing.T) {
	body := make([]byte, 2500)
	for i := range body {
		body[i] = byte(i * 7)
	}
	frames := Encode(9, TypeResponse, body, 0)

	wantSizes := []int{16 + len(TypeResponse), 1036, 1036, 464}
	if len(frames) != len(wantSizes) {
		t.Fatalf("Encode gave %d frames, want %d", len(frames), len(wantSizes))
	}
	for i, f := range frames {
		if len(f) != wantSizes[i] {
			t.Errorf("frame %d is %d bytes, want %d", i, len(f), wantSizes[i])
		}
	}
	wantHead := parseDump(t, `
0000  00 00 00 00 00 00 00 09 00 00 00 00 00 00 00 03`)
	if !bytes.HasPrefix(frames[0], wantHead) {
		t.Errorf("header frame starts % x, want % x", frames[0][:16], wantHead)
	}
	for k := 1; k <= 3; k++ {
		want := []byte{0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, byte(k)}
		if !bytes.HasPrefix(frames[k], want) {
			t.Errorf("data frame %d starts % x, want % x", k, frames[k][:12], want)
		}
	}

	msg := feedAll(t, frames)
	if msg.ID != 9 || msg.Type != TypeResponse || !bytes.Equal(msg.Body, body) {
		t.Errorf("reassembled (%d, %q, %d bytes), want (9, %q, 2500 bytes)",
			msg.ID, msg.Type, len(msg.Body), TypeResponse)
	}
}

func feedAll(t *testing.T, frames [][]byte) Message {
	t.Helper()
	var a Assembler
	for i, f := range frames {
		msg, done, err := a.Feed(f)
		if err != nil {
			t.Fatalf("Feed(frame %d): %v", i, err)
		}
		if done {
			if i != len(frames)-1 {
				t.Fatalf("message complete after frame %d of %d", i, len(frames))
			}
			return msg
		}
	}
	t.Fatalf("message not complete after %d frames", len(frames))
	return Message{}
}
