package slacksim

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// An Envelope is one Socket Mode request as Slack sends it.
type Envelope struct {
	ID                     string
	Type                   string // slash_commands, interactive, events_api, …
	Payload                json.RawMessage
	AcceptsResponsePayload bool
	RetryAttempt           int
	RetryReason            string

	// ResponseURL is the payload's response_url, when it has one.
	ResponseURL string
	// ConnID is the connection it was last written to (set by Send).
	ConnID int
}

// An Ack is a client's answer to one delivery of an envelope.
type Ack struct {
	EnvelopeID string
	ConnID     int
	Attempt    int             // RetryAttempt of the delivery it answers
	Latency    time.Duration   // from writing the envelope to reading the ack
	Payload    json.RawMessage // nil when the ack carried none
	Received   time.Time
}

// envelopeRec is what the server remembers of an envelope it sent.
type envelopeRec struct {
	env        Envelope
	channel    string // for a slash command, where its reply goes
	user       string
	deliveries []*delivery
}

type delivery struct {
	envID   string
	attempt int
	conn    int
	sent    time.Time
	acked   bool
	failed  bool // never written

	// timer fires at the ack deadline; overdue is set then if no ack
	// had come, and the violation recorded.
	timer   *time.Timer
	overdue bool
}

// MarshalJSON writes the envelope as Slack frames it.
func (e Envelope) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		EnvelopeID             string          `json:"envelope_id"`
		Type                   string          `json:"type"`
		AcceptsResponsePayload bool            `json:"accepts_response_payload"`
		RetryAttempt           int             `json:"retry_attempt"`
		RetryReason            string          `json:"retry_reason"`
		Payload                json.RawMessage `json:"payload,omitempty"`
	}{e.ID, e.Type, e.AcceptsResponsePayload, e.RetryAttempt, e.RetryReason, e.Payload})
}

// Send delivers env to one open connection, waiting (until ctx ends) for
// one to be open, and returns once the frame is written. An empty ID is
// filled in. A write that fails is tried on another connection.
func (s *Server) Send(ctx context.Context, env *Envelope) error {
	return s.send(ctx, env, 0)
}

// SendRaw writes one frame as it is, for payloads the typed helpers
// cannot build: an unknown type, no state or channel, empty actions. An
// envelope_id in it is tracked, so WaitAck works. It returns the
// connection id it was written to.
func (s *Server) SendRaw(ctx context.Context, frame []byte) (int, error) {
	var head struct {
		ID      string `json:"envelope_id"`
		Type    string `json:"type"`
		Attempt int    `json:"retry_attempt"`
	}
	_ = json.Unmarshal(frame, &head) // an unparseable frame is a valid test
	s.mu.Lock()
	if head.ID != "" && s.envelopes[head.ID] == nil {
		s.envelopes[head.ID] = &envelopeRec{env: Envelope{ID: head.ID, Type: head.Type}}
	}
	s.mu.Unlock()
	return s.deliver(ctx, head.ID, head.Attempt, frame, 0)
}

// Redeliver sends env again with the same envelope_id and RetryAttempt
// one higher, as Slack does when an ack is late. It goes to another
// connection when more than one is open. It returns the new delivery.
// TODO(slacksim): Slack retries unacked events_api envelopes by itself
// (about 0 s, 1 min, 5 min); here a test redelivers by hand.
func (s *Server) Redeliver(ctx context.Context, env *Envelope) (*Envelope, error) {
	again := *env
	again.RetryAttempt++
	again.RetryReason = "timeout"
	err := s.send(ctx, &again, env.ConnID)
	return &again, err
}

func (s *Server) send(ctx context.Context, env *Envelope, avoid int) error {
	s.mu.Lock()
	if env.ID == "" {
		env.ID = s.newEnvelopeIDLocked()
	}
	rec := s.envelopes[env.ID]
	if rec == nil {
		rec = &envelopeRec{}
		s.envelopes[env.ID] = rec
	}
	rec.env = *env
	s.mu.Unlock()

	frame, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("encoding envelope: %w", err)
	}
	id, err := s.deliver(ctx, env.ID, env.RetryAttempt, frame, avoid)
	env.ConnID = id
	return err
}

// newEnvelopeIDLocked makes an id shaped like Slack's UUIDs. Ids are
// random, as Slack's are, so stand-ins in several tests sharing one Redis
// never hand a bot an id it has seen.
func (s *Server) newEnvelopeIDLocked() string {
	s.seq++
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("5f0c2a9e-%04x-4000-8000-%012x", s.seq&0xffff, b)
}

// deliver writes frame to one connection, trying another when the write
// fails, and records the delivery for ack matching.
func (s *Server) deliver(ctx context.Context, envID string, attempt int,
	frame []byte, avoid int) (int, error) {
	for {
		var c *conn
		err := s.wait(ctx, func() bool {
			c = s.pickLocked(avoid)
			return c != nil
		})
		if err != nil {
			return 0, fmt.Errorf("waiting for a socket mode connection: %w", err)
		}

		d := s.recordDelivery(c, envID, attempt)
		err = s.writeTo(ctx, c, outFrame{data: frame, sent: make(chan error, 1), d: d})
		if err == nil {
			c.log.Debug("envelope sent", "envelope_id", envID, "attempt", attempt)
			return c.id, nil
		}
		if ctx.Err() != nil {
			// The frame may still go out; its delivery stays ackable.
			return 0, ctx.Err()
		}
		s.mu.Lock()
		d.failed = true
		d.stopLocked()
		c.delivered--
		s.mu.Unlock()
	}
}

func (s *Server) recordDelivery(c *conn, envID string, attempt int) *delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &delivery{envID: envID, attempt: attempt, conn: c.id, sent: time.Now()}
	if rec := s.envelopes[envID]; rec != nil {
		rec.deliveries = append(rec.deliveries, d)
	}
	c.delivered++
	return d
}

// armLocked starts d's clock as its frame is written: Slack shows the
// user an error once the deadline passes without an ack, whether one
// comes later or never.
func (s *Server) armLocked(d *delivery) {
	d.sent = time.Now()
	if d.envID == "" || s.closed {
		return
	}
	d.timer = time.AfterFunc(s.cfg.AckDeadline, func() { s.expire(d) })
}

// expire records d as not acked in time, unless its ack came first.
func (s *Server) expire(d *delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.acked || d.failed || s.closed {
		return
	}
	d.overdue = true
	s.violationLocked(fmt.Errorf("envelope %q (attempt %d, connection %d) not acked within Slack's %v",
		d.envID, d.attempt, d.conn, s.cfg.AckDeadline))
	s.notifyLocked()
}

func (d *delivery) stopLocked() {
	if d.timer != nil {
		d.timer.Stop()
	}
}

// Unacked returns the ids of the envelopes with a delivery whose ack
// deadline has passed with no ack yet, in the order they were sent. Each
// is a violation too, which stays when a late ack comes.
func (s *Server) Unacked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unackedLocked()
}

func (s *Server) unackedLocked() []string {
	var late []*delivery
	for _, rec := range s.envelopes {
		for _, d := range rec.deliveries {
			if d.overdue && !d.acked {
				late = append(late, d)
			}
		}
	}
	slices.SortFunc(late, func(a, b *delivery) int { return a.sent.Compare(b.sent) })
	out := make([]string, len(late))
	for i, d := range late {
		out[i] = d.envID
	}
	return out
}

// stopTimersLocked stops every delivery's deadline, at Close.
func (s *Server) stopTimersLocked() {
	for _, rec := range s.envelopes {
		for _, d := range rec.deliveries {
			d.stopLocked()
		}
	}
}

var errConnGone = errors.New("connection closed")

// writeTo hands a frame to the connection's writer and waits for it.
func (s *Server) writeTo(ctx context.Context, c *conn, f outFrame) error {
	select {
	case c.out <- f:
	case <-c.done:
		return errConnGone
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-f.sent:
		return err
	case <-c.done:
		// The writer may have finished just before the socket closed.
		select {
		case err := <-f.sent:
			return err
		default:
			return errConnGone
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handleAck matches a frame from a client to the delivery it answers.
func (s *Server) handleAck(c *conn, data []byte, at time.Time) {
	var ack struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	_ = json.Unmarshal(data, &ack)

	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	if err := CheckAck(data); err != nil {
		s.violationLocked(fmt.Errorf("ack on connection %d: %w", c.id, err))
	}
	rec := s.envelopes[ack.EnvelopeID]
	d := rec.pending(c.id)
	if d == nil {
		s.violationLocked(fmt.Errorf("ack of envelope %q that is unknown or already acked",
			ack.EnvelopeID))
		return
	}
	d.acked = true
	d.stopLocked()
	a := s.recordAckLocked(c, d, ack.EnvelopeID, ack.Payload, at)
	if d.overdue || a.Latency > s.cfg.AckDeadline {
		// Slack gave up on the ack and showed the user an error; a
		// reply in it is dropped.
		return
	}
	s.ackPayloadLocked(rec, a)
}

// recordAckLocked keeps an ack and flags it when Slack would have given
// up waiting.
func (s *Server) recordAckLocked(c *conn, d *delivery, envID string,
	payload json.RawMessage, at time.Time) Ack {
	a := Ack{
		EnvelopeID: envID,
		ConnID:     c.id,
		Attempt:    d.attempt,
		Latency:    at.Sub(d.sent),
		Received:   at,
	}
	if len(payload) > 0 && string(payload) != "null" {
		a.Payload = payload
	}
	if _, ok := s.firstAck[a.EnvelopeID]; !ok {
		s.firstAck[a.EnvelopeID] = len(s.acks)
	}
	s.acks = append(s.acks, a)
	c.log.Debug("ack received", "envelope_id", a.EnvelopeID, "took", a.Latency)
	if a.Latency > s.cfg.AckDeadline && !d.overdue {
		s.violationLocked(fmt.Errorf("ack of envelope %q took %v, over Slack's %v",
			a.EnvelopeID, a.Latency, s.cfg.AckDeadline))
	}
	return a
}

// pending returns the oldest unacked delivery, preferring one on the
// connection the ack came in on.
func (r *envelopeRec) pending(connID int) *delivery {
	if r == nil {
		return nil
	}
	var first *delivery
	for _, d := range r.deliveries {
		if d.acked || d.failed {
			continue
		}
		if d.conn == connID {
			return d
		}
		if first == nil {
			first = d
		}
	}
	return first
}

// ackPayloadLocked applies an ack's payload. For a slash command it is
// the immediate reply; for a click Slack documents no effect, so it is
// only recorded (and checked when it looks like a message).
func (s *Server) ackPayloadLocked(rec *envelopeRec, a Ack) {
	if a.Payload == nil {
		return
	}
	where := "ack payload of envelope " + strconv.Quote(a.EnvelopeID)
	if rec.env.Type != "slash_commands" {
		if looksLikeMessage(a.Payload) {
			s.checkLocked(where, a.Payload)
		}
		return
	}
	var body replyBody
	_ = json.Unmarshal(a.Payload, &body)
	refused := s.checkLocked(where, a.Payload)
	if len(refused) > 0 || !looksLikeMessage(a.Payload) {
		return // Slack shows nothing for a reply it cannot render
	}
	// TODO(slacksim): with in_channel Slack also shows the user's command
	// line in the channel; that echo is not modelled.
	s.postLocked(&Message{
		Channel:    rec.channel,
		User:       s.cfg.BotUserID,
		Ephemeral:  body.ResponseType != "in_channel",
		VisibleTo:  rec.user,
		Text:       body.Text,
		Blocks:     s.normaliseBlocks(body.Blocks),
		Source:     "ack",
		EnvelopeID: a.EnvelopeID,
	})
}

func looksLikeMessage(payload json.RawMessage) bool {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(payload, &m)
	_, text := m["text"]
	_, blocks := m["blocks"]
	return text || blocks
}

// WaitAck waits for the first ack of the envelope with this id.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var a Ack
	err := s.wait(ctx, func() bool {
		i, ok := s.firstAck[envelopeID]
		if ok {
			a = s.acks[i]
		}
		return ok
	})
	if err != nil {
		return Ack{}, fmt.Errorf("waiting for ack of %s: %w", envelopeID, err)
	}
	return a, nil
}

// Acks returns every ack received, in order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}
