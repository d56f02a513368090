package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

func testBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + 7)
	}
	return b
}

func TestChunkSizes(t *testing.T) {
	body := testBody(2500)
	for _, chunk := range []int{1, 7, 1000, 1024, 4096} {
		frames := Encode(42, "x", body, chunk)
		if want := 1 + (len(body)+chunk-1)/chunk; len(frames) != want {
			t.Errorf("Encode(chunk %d) gave %d frames, want %d", chunk, len(frames), want)
		}
		for _, f := range frames[1:] {
			if len(f)-12 > chunk {
				t.Fatalf("chunk %d: data frame of %d bytes", chunk, len(f)-12)
			}
		}
		if msg := feedAll(t, frames); !bytes.Equal(msg.Body, body) {
			t.Errorf("chunk %d: reassembled body differs", chunk)
		}
	}
}

func TestEmptyBody(t *testing.T) {
	frames := Encode(5, "ping", nil, 0)
	if len(frames) != 1 {
		t.Fatalf("Encode(empty) gave %d frames, want 1", len(frames))
	}
	msg := feedAll(t, frames)
	if msg.ID != 5 || msg.Type != "ping" || len(msg.Body) != 0 {
		t.Errorf("got %+v, want id 5, type ping, empty body", msg)
	}
}

// TestResync checks the receiver's rule: a broken sequence loses only the
// message it broke, and an index-0 frame always starts a new message.
func TestResync(t *testing.T) {
	first := Encode(1, "a", testBody(3000), 0)
	second := Encode(2, "b", testBody(10), 0)
	foreign := Encode(3, "c", testBody(2000), 0)

	tests := []struct {
		name    string
		frames  [][]byte
		wantErr error
	}{
		{"skipped index", [][]byte{first[0], first[2]}, ErrBadIndex},
		{"data without header", [][]byte{first[1]}, ErrBadIndex},
		{"id mismatch", [][]byte{first[0], foreign[1]}, ErrIDMismatch},
		{"header interrupts", [][]byte{first[0], first[1], second[0]}, ErrInterrupted},
		{"short frame", [][]byte{first[0], {1, 2, 3}}, ErrShortFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Assembler
			var sawErr error
			for _, f := range tt.frames {
				if _, _, err := a.Feed(f); err != nil {
					sawErr = err
				}
			}
			if !errors.Is(sawErr, tt.wantErr) {
				t.Errorf("error = %v, want %v", sawErr, tt.wantErr)
			}
			// Whatever happened, the next whole message must come through.
			// After "header interrupts", second's data frame completes it.
			rest := second
			if tt.wantErr == ErrInterrupted {
				rest = second[1:]
			}
			var got Message
			for _, f := range rest {
				if m, done, _ := a.Feed(f); done {
					got = m
				}
			}
			if got.ID != 2 || got.Type != "b" {
				t.Errorf("after the break, got message (%d, %q), want (2, b)", got.ID, got.Type)
			}
		})
	}
}

func TestMaxBody(t *testing.T) {
	a := Assembler{MaxBody: 100}
	var err error
	for _, f := range Encode(1, "big", testBody(300), 64) {
		if _, _, e := a.Feed(f); e != nil && err == nil {
			err = e
		}
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("Feed of a 300-byte body with MaxBody 100: err = %v, want ErrTooLarge", err)
	}
}

func TestReadFrame(t *testing.T) {
	body := testBody(5000)
	for _, chunk := range []int{1, 7, 1024} {
		var a Assembler
		var got Message
		n := 0
		for _, f := range Encode(77, TypeResponse, body, chunk) {
			m, done, err := a.ReadFrame(bytes.NewReader(f))
			if err != nil {
				t.Fatalf("chunk %d: ReadFrame: %v", chunk, err)
			}
			if done {
				got = m
				n++
			}
		}
		if n != 1 || got.ID != 77 || !bytes.Equal(got.Body, body) {
			t.Errorf("chunk %d: %d messages, id %d, body equal %v",
				chunk, n, got.ID, bytes.Equal(got.Body, body))
		}
	}
}

func TestReadFrameErrors(t *testing.T) {
	var a Assembler
	if _, _, err := a.ReadFrame(bytes.NewReader([]byte{1, 2})); !errors.Is(err, ErrShortFrame) {
		t.Errorf("ReadFrame(2 bytes) = %v, want ErrShortFrame", err)
	}
	frames := Encode(1, "a", testBody(3000), 0)
	a.ReadFrame(bytes.NewReader(frames[0]))
	if _, _, err := a.ReadFrame(bytes.NewReader(frames[2])); !errors.Is(err, ErrBadIndex) {
		t.Errorf("ReadFrame(index 2 after 0) = %v, want ErrBadIndex", err)
	}
	b := Assembler{MaxBody: 10}
	b.ReadFrame(bytes.NewReader(frames[0]))
	if _, _, err := b.ReadFrame(bytes.NewReader(frames[1])); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadFrame(1024 bytes, MaxBody 10) = %v, want ErrTooLarge", err)
	}
}

func TestUnpack(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		header  string
		payload string
		ok      bool
	}{
		{"header and payload", Pack([]byte(`{"a":1}`), []byte("xyz")), `{"a":1}`, "xyz", true},
		{"short", []byte{0, 0, 1}, "", "", false},
		{"length past end", Pack([]byte(`{}`), nil)[:9], "", "", false},
		{"not an object", Pack([]byte(`[1]`), nil), "", "", false},
		{"huge length", []byte{255, 255, 255, 255, 255, 255, 255, 255, '{'}, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, p, err := Unpack(tt.body)
			if (err == nil) != tt.ok {
				t.Fatalf("Unpack err = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && (string(h) != tt.header || string(p) != tt.payload) {
				t.Errorf("Unpack = %q, %q; want %q, %q", h, p, tt.header, tt.payload)
			}
		})
	}
}

// spanReader records how far the room it is offered reaches, which is
// what the Assembler's buffer has grown to, while it has handed out no
// more than limit bytes; past that the frame is being drained.
type spanReader struct {
	r                *bytes.Reader
	limit, read, max int
}

func (s *spanReader) Read(p []byte) (int, error) {
	if s.read <= s.limit {
		s.max = max(s.max, s.read+len(p))
	}
	n, err := s.r.Read(p)
	s.read += n
	return n, err
}

// TestReadFrameGrowthStopsAtMaxBody: a body bigger than MaxBody fails
// without the buffer growing past the limit, whether it comes in one
// frame of a message that announced one, or in an oversized frame of a
// message whose header and first frame promised many of 1,024 bytes.
// Doubling took it to about twice the limit.
func TestReadFrameGrowthStopsAtMaxBody(t *testing.T) {
	const limit = 100_000
	body := testBody(3 * limit)
	oneFrame := Encode(1, "a", body, 3*limit)
	chunked := Encode(2, "a", body, 0)
	// Frame 2 of the chunked message, made to carry two limits' worth.
	oversized := append(append([]byte(nil), chunked[2][:dataPrefix]...), body[:2*limit]...)
	for _, tt := range []struct {
		name   string
		before [][]byte // fed first
		frame  []byte   // read with ReadFrame, expected to fail
	}{
		{"one frame", oneFrame[:1], oneFrame[1]},
		{"oversized frame", chunked[:2], oversized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := Assembler{MaxBody: limit}
			for _, f := range tt.before {
				if _, _, err := a.ReadFrame(bytes.NewReader(f)); err != nil {
					t.Fatal(err)
				}
			}
			had := len(a.cur.Body)
			// The frame's prefix is read first, into a buffer of its own.
			r := &spanReader{r: bytes.NewReader(tt.frame), limit: dataPrefix + limit - had}
			if _, _, err := a.ReadFrame(r); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("ReadFrame past MaxBody %d = %v, want ErrTooLarge", limit, err)
			}
			if grown := had + r.max - dataPrefix; grown > limit+1 {
				t.Errorf("the body buffer grew to %d bytes with MaxBody %d", grown, limit)
			}
		})
	}
}

// headerFrame is a header frame of id announcing n data frames, with a
// type of size bytes.
func headerFrame(id uint64, n uint32, size int) []byte {
	f := Encode(id, string(bytes.Repeat([]byte("t"), size)), nil, 0)[0]
	binary.BigEndian.PutUint32(f[12:16], n)
	return f
}

// TestTypeBound: a header frame carries nothing but the message type, so
// one with a type longer than MaxType is dropped, by Feed and ReadFrame
// alike, and the next message still comes through.
func TestTypeBound(t *testing.T) {
	next := Encode(2, "b", testBody(10), 0)
	for _, tt := range []struct {
		name string
		read func(a *Assembler, f []byte) (Message, bool, error)
	}{
		{"Feed", (*Assembler).Feed},
		{"ReadFrame", func(a *Assembler, f []byte) (Message, bool, error) {
			return a.ReadFrame(bytes.NewReader(f))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var a Assembler
			m, done, err := tt.read(&a, headerFrame(1, 0, MaxType))
			if err != nil || !done || len(m.Type) != MaxType {
				t.Errorf("type of MaxType bytes: done %v, %d bytes, err %v; want it whole",
					done, len(m.Type), err)
			}
			if _, _, err := tt.read(&a, headerFrame(1, 1, MaxType+1)); !errors.Is(err, ErrTooLarge) {
				t.Errorf("type of MaxType+1 bytes: %v, want ErrTooLarge", err)
			}
			// The message it began is dropped, so its data frame is out of
			// sequence.
			data := Encode(1, "a", testBody(5), 0)[1]
			if _, _, err := tt.read(&a, data); !errors.Is(err, ErrBadIndex) {
				t.Errorf("data frame after the long type: %v, want ErrBadIndex", err)
			}
			var got Message
			for _, f := range next {
				if m, done, _ := tt.read(&a, f); done {
					got = m
				}
			}
			if got.ID != 2 || got.Type != "b" {
				t.Errorf("after the long type, got message (%d, %q), want (2, b)", got.ID, got.Type)
			}
		})
	}
}

// TestReadFrameLongTypeHoldsNoMemory reads a header frame with a type of
// 64 MiB, as a broken or hostile room may send: it is drained, not held.
func TestReadFrameLongTypeHoldsNoMemory(t *testing.T) {
	const size = 64 << 20
	var a Assembler
	r := io.MultiReader(bytes.NewReader(headerFrame(1, 0, 0)),
		io.LimitReader(zeros{}, size))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, _, err := a.ReadFrame(r)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) || m.Type != "" {
		t.Errorf("ReadFrame(type of %d bytes) = %d-byte type, %v; want ErrTooLarge", size, len(m.Type), err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("ReadFrame allocated %d bytes for a type it refused", n)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
