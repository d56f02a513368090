// Package wire encodes and decodes the MeshAgent room protocol below the
// JSON level: the websocket frames that carry one protocol message (a header
// frame, then data frames) and the packed body inside them (a length-prefixed
// JSON header, then an optional payload). The room client and the room
// simulator share it, so both speak the same bytes.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ChunkSize is how many body bytes every MeshAgent SDK puts in one data
// frame. Senders should use it; receivers must accept any size.
const ChunkSize = 1024

// Frame prefix sizes: id and index, plus the data-frame count in a header.
const (
	dataPrefix   = 12
	headerPrefix = 16
)

// DefaultMaxBody bounds a reassembled body, so a peer announcing a huge
// message cannot make a receiver allocate without limit.
const DefaultMaxBody = 64 << 20

// MaxType bounds the message type of a header frame, which carries
// nothing else: a message's JSON header travels in its data frames. The
// longest type the protocol names, room.tool_call_response_chunk, has 29
// bytes; 1 KiB leaves room for types of later rooms, and keeps a header
// frame from making a receiver hold more than that.
const MaxType = 1024

// MaxFrame is the largest frame a receiver with the default MaxBody needs
// to read whole: a data frame carrying a body of DefaultMaxBody, which the
// protocol allows, as receivers must take any chunk size. A websocket read
// limit of MaxFrame ends a connection whose peer sends a frame no message
// could need.
const MaxFrame = dataPrefix + DefaultMaxBody

// Message types this project sends or reads.
const (
	TypeInvokeTool = "room.invoke_tool"
	TypeResponse   = "__response__"
	TypeRoomReady  = "room_ready"
	TypeConnected  = "connected"
	TypeRoomStatus = "room.status"
)

// A Message is one protocol message: an id, a type and a packed body.
type Message struct {
	ID   uint64
	Type string
	Body []byte
}

// Frames cuts a message into its header frame and data frames of at most
// chunk body bytes each. A chunk of zero or less means ChunkSize.
// For every frame it calls emit with the frame's prefix and its share of
// body; prefix is only valid during the call. Writing prefix and data as
// one websocket message gives the frame.
func Frames(id uint64, typ string, body []byte, chunk int,
	emit func(prefix, data []byte) error) error {
	if chunk <= 0 {
		chunk = ChunkSize
	}
	n := (len(body) + chunk - 1) / chunk
	if uint64(n) > 1<<32-1 {
		return fmt.Errorf("wire: body of %d bytes needs too many frames", len(body))
	}

	var buf [headerPrefix]byte
	binary.BigEndian.PutUint64(buf[0:8], id)
	binary.BigEndian.PutUint32(buf[8:12], 0)
	binary.BigEndian.PutUint32(buf[12:16], uint32(n))
	if err := emit(buf[:], []byte(typ)); err != nil {
		return err
	}
	for k := 1; k <= n; k++ {
		lo := (k - 1) * chunk
		hi := min(lo+chunk, len(body))
		binary.BigEndian.PutUint32(buf[8:12], uint32(k))
		if err := emit(buf[:dataPrefix], body[lo:hi]); err != nil {
			return err
		}
	}
	return nil
}

// Encode returns the frames of a message as separate byte slices. It is the
// simple form of Frames, for tests and small messages.
func Encode(id uint64, typ string, body []byte, chunk int) [][]byte {
	var out [][]byte
	_ = Frames(id, typ, body, chunk, func(prefix, data []byte) error {
		f := make([]byte, 0, len(prefix)+len(data))
		out = append(out, append(append(f, prefix...), data...))
		return nil
	})
	return out
}

// Errors from an Assembler. Each means that a frame, and any partial
// message it broke, was dropped; the Assembler is ready for the next frame.
var (
	ErrShortFrame  = errors.New("wire: frame shorter than its prefix")
	ErrBadIndex    = errors.New("wire: data frame out of sequence")
	ErrIDMismatch  = errors.New("wire: data frame id differs from its header")
	ErrInterrupted = errors.New("wire: header frame interrupted a partial message")
	ErrTooLarge    = errors.New("wire: message body or type too large")
)

// An Assembler rebuilds messages from frames, one message at a time, as
// the protocol requires. It follows the receiver's resync rule: a frame out
// of sequence drops the partial message and the Assembler waits for the next
// index-0 frame, and an index-0 frame always starts a new message, even in
// the middle of another. The zero value is ready to use.
type Assembler struct {
	// MaxBody bounds a message body; zero means DefaultMaxBody.
	MaxBody int

	cur   Message
	next  uint32 // index of the next data frame; 0 between messages
	total uint32 // data frames the header announced
	chunk int    // size of the message's first data frame; 0 before it
}

// Feed adds one frame. It returns the message when the frame completed
// one. A non-nil error reports something dropped; with ErrInterrupted the
// frame still began a new message and done tells whether it is complete.
// The returned Body is owned by the caller: Feed copies data out of frame.
func (a *Assembler) Feed(frame []byte) (msg Message, done bool, err error) {
	if len(frame) < dataPrefix {
		a.reset()
		return Message{}, false, ErrShortFrame
	}
	id := binary.BigEndian.Uint64(frame[0:8])
	idx := binary.BigEndian.Uint32(frame[8:12])
	if idx == 0 {
		return a.header(id, frame)
	}
	if err := a.check(id, idx, len(frame)-dataPrefix); err != nil {
		return Message{}, false, err
	}
	data := frame[dataPrefix:]
	a.cur.Body = append(a.room(a.cur.Body, len(data)), data...)
	a.noteChunk(idx, len(data))
	msg, done = a.advance()
	return msg, done, nil
}

func (a *Assembler) header(id uint64, frame []byte) (Message, bool, error) {
	if len(frame) < headerPrefix {
		a.reset()
		return Message{}, false, ErrShortFrame
	}
	if len(frame)-headerPrefix > MaxType {
		a.reset()
		return Message{}, false, ErrTooLarge
	}
	var err error
	if a.next != 0 {
		err = ErrInterrupted
	}
	n := binary.BigEndian.Uint32(frame[12:16])
	a.cur = Message{ID: id, Type: string(frame[headerPrefix:])}
	a.next, a.total = 0, n
	if n > 0 {
		// The sender's chunk size is unknown, so the SDKs' 1024 is a guess;
		// it is capped so a lying count cannot reserve much memory.
		a.cur.Body = make([]byte, 0, min(int64(n)*ChunkSize, 1<<20, int64(a.maxBody())))
	}
	msg, done := a.advance()
	return msg, done, err
}

// check validates a data frame against the message in progress and
// resets the Assembler when the frame does not belong to it.
func (a *Assembler) check(id uint64, idx uint32, size int) error {
	switch {
	case a.next == 0 || idx != a.next:
		a.reset()
		return ErrBadIndex
	case id != a.cur.ID:
		a.reset()
		return ErrIDMismatch
	case len(a.cur.Body)+size > a.maxBody():
		a.reset()
		return ErrTooLarge
	}
	return nil
}

// advance moves past the frame just taken in, returning the message once
// its last data frame has arrived.
func (a *Assembler) advance() (Message, bool) {
	if a.next == a.total {
		msg := a.cur
		a.reset()
		return msg, true
	}
	a.next++
	return Message{}, false
}

func (a *Assembler) reset() {
	a.cur = Message{}
	a.next, a.total, a.chunk = 0, 0, 0
}

// noteChunk remembers the sender's chunk size from the first data frame.
func (a *Assembler) noteChunk(idx uint32, size int) {
	if idx == 1 {
		a.chunk = size
	}
}

// room makes space in b for need more bytes. It doubles the buffer, as
// append's growth of a large slice by a quarter would copy a 6 MB answer
// some ten times over, but no further than the frames announced will
// fill at the sender's chunk size, nor past the largest body allowed. It
// reserves at most twice what has arrived, so a lying count costs the
// liar as much as the receiver.
func (a *Assembler) room(b []byte, need int) []byte {
	if cap(b)-len(b) >= need {
		return b
	}
	size := max(2*cap(b), len(b)+need)
	if est := int(a.total) * a.chunk; est >= len(b)+need {
		size = min(size, est)
	}
	// One byte past the limit is enough for the reader to see it passed.
	size = min(size, max(a.maxBody()+1, len(b)+need))
	nb := make([]byte, len(b), size)
	copy(nb, b)
	return nb
}

func (a *Assembler) maxBody() int {
	if a.MaxBody > 0 {
		return a.MaxBody
	}
	return DefaultMaxBody
}

// ReadFrame reads one frame from r, a reader positioned at the start of a
// websocket message, and feeds it to the Assembler. Data is read straight
// into the body being rebuilt, which saves a buffer per frame.
func (a *Assembler) ReadFrame(r io.Reader) (Message, bool, error) {
	var p [headerPrefix]byte
	_, err := io.ReadFull(r, p[:dataPrefix])
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		a.reset()
		return Message{}, false, ErrShortFrame
	}
	if err != nil {
		return Message{}, false, err
	}
	if binary.BigEndian.Uint32(p[8:12]) == 0 {
		return a.readHeader(p[:dataPrefix], r)
	}
	return a.readData(p[:dataPrefix], r)
}

// readHeader reads the rest of a header frame, no more than a count and
// a type of MaxType could fill, and drains a longer one.
func (a *Assembler) readHeader(p []byte, r io.Reader) (Message, bool, error) {
	const most = headerPrefix - dataPrefix + MaxType
	rest, err := io.ReadAll(io.LimitReader(r, most+1))
	if err != nil {
		return Message{}, false, err
	}
	if len(rest) > most {
		a.reset()
		return Message{}, false, drain(r, ErrTooLarge)
	}
	return a.Feed(append(p, rest...))
}

func (a *Assembler) readData(p []byte, r io.Reader) (Message, bool, error) {
	id := binary.BigEndian.Uint64(p[0:8])
	idx := binary.BigEndian.Uint32(p[8:12])
	if err := a.check(id, idx, 0); err != nil {
		return Message{}, false, drain(r, err)
	}
	start := len(a.cur.Body)
	body, err := a.readAppend(a.cur.Body, r)
	if err != nil {
		a.reset()
		return Message{}, false, err
	}
	a.cur.Body = body
	a.noteChunk(idx, len(body)-start)
	msg, done := a.advance()
	return msg, done, nil
}

// readAppend appends all of r to b, failing once b would pass the
// largest body allowed.
func (a *Assembler) readAppend(b []byte, r io.Reader) ([]byte, error) {
	max := a.maxBody()
	for {
		if len(b) == cap(b) {
			// Ask for no more than would pass the limit by one byte.
			b = a.room(b, min(512, max+1-len(b)))
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if len(b) > max {
			return nil, drain(r, ErrTooLarge)
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// drain discards the rest of a frame so the stream stays usable, and
// returns err unless reading failed.
func drain(r io.Reader, err error) error {
	if _, rerr := io.Copy(io.Discard, r); rerr != nil {
		return rerr
	}
	return err
}
