package slacksim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
)

// A Message is one message in the workspace as its viewers see it now.
type Message struct {
	TS        string
	Channel   string
	User      string // author: BotUserID for everything the bot posts
	Ephemeral bool
	VisibleTo string // the one user who sees an ephemeral message
	Text      string
	// Blocks is the JSON array of blocks, with block_id and action_id
	// filled in where the sender left them out, as Slack does.
	Blocks json.RawMessage

	// Source says how the current content arrived: "ack",
	// "response_url", "chat.postMessage", "chat.postEphemeral" or
	// "chat.update". EnvelopeID names the envelope whose ack or
	// response_url produced it.
	Source     string
	EnvelopeID string

	Deleted bool
	History []Revision // earlier contents, oldest first
}

// A Revision is an earlier content of an edited message.
type Revision struct {
	Text       string
	Blocks     json.RawMessage
	Source     string
	EnvelopeID string
}

// EventKind says what happened to a message.
type EventKind string

// The kinds of MessageEvent.
const (
	Posted  EventKind = "posted"
	Edited  EventKind = "edited"
	Deleted EventKind = "deleted"
)

// A MessageEvent is one change to the workspace, with the message as it
// was right after it.
type MessageEvent struct {
	Kind    EventKind
	Message Message
}

func (m *Message) snapshot() Message {
	c := *m
	c.History = append([]Revision(nil), m.History...)
	return c
}

// postLocked stores a new message under a fresh ts. s.mu must be held.
func (s *Server) postLocked(m *Message) {
	m.TS = s.tsLocked()
	if !m.Ephemeral {
		m.VisibleTo = ""
	}
	s.messages = append(s.messages, m)
	s.byTS[m.TS] = m
	s.eventLocked(Posted, m)
}

// editLocked replaces a message's content, keeping the old one.
func (s *Server) editLocked(m *Message, text string, blocks json.RawMessage, source, envID string) {
	m.History = append(m.History, Revision{m.Text, m.Blocks, m.Source, m.EnvelopeID})
	m.Text, m.Blocks, m.Source, m.EnvelopeID = text, blocks, source, envID
	s.eventLocked(Edited, m)
}

func (s *Server) deleteLocked(m *Message, source, envID string) {
	m.Deleted = true
	m.Source, m.EnvelopeID = source, envID
	s.eventLocked(Deleted, m)
}

func (s *Server) eventLocked(kind EventKind, m *Message) {
	if m.EnvelopeID != "" {
		s.eventsByEnv[m.EnvelopeID] = append(s.eventsByEnv[m.EnvelopeID], len(s.events))
	}
	s.events = append(s.events, MessageEvent{Kind: kind, Message: m.snapshot()})
	s.log.Debug("message changed", "kind", kind, "channel", m.Channel, "ts", m.TS,
		"ephemeral", m.Ephemeral, "source", m.Source)
	s.notifyLocked()
}

// replyBody is the part of a response_url body or ack payload that makes
// a message.
type replyBody struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal looseBool       `json:"replace_original"`
	DeleteOriginal  looseBool       `json:"delete_original"`
}

// looseBool accepts true and "true": Slack takes both, and Python
// examples send the string.
type looseBool bool

func (b *looseBool) UnmarshalJSON(data []byte) error {
	*b = looseBool(strings.Trim(string(data), `"`) == "true")
	return nil
}

// checkLocked checks a message body, records what it breaks and reports
// whether Slack would still take it: bad blocks are refused
// (invalid_blocks), a missing or long fallback text only draws a warning.
func (s *Server) checkLocked(where string, body []byte) (refused []*LimitError) {
	return s.recordLocked(where, CheckMessage(body))
}

// recordLocked records err, what CheckMessage said of a message, and
// reports what of it Slack would refuse.
func (s *Server) recordLocked(where string, err error) (refused []*LimitError) {
	if err == nil {
		return nil
	}
	s.violationLocked(fmt.Errorf("%s: %w", where, err))
	for _, le := range LimitErrors(err) {
		if le.Pointer != "/text" {
			refused = append(refused, le)
		}
	}
	return refused
}

// normaliseBlocks returns blocks as a JSON array (they may arrive as a
// string in form posts), with block_id and action_id filled in where
// missing, as Slack stores them. Blocks that do not parse are returned
// as they are; the checker has already flagged them.
func (s *Server) normaliseBlocks(raw json.RawMessage) json.RawMessage {
	var v any
	if len(raw) > 0 && json.Unmarshal(raw, &v) != nil {
		return raw
	}
	return normalised(raw, v)
}

// normalised is normaliseBlocks on blocks already decoded into v. Only
// when an id had to be filled in are the blocks written again: decoding
// and encoding every message was most of the stand-in's work under load.
func normalised(raw json.RawMessage, v any) json.RawMessage {
	str, inString := v.(string)
	if inString {
		raw, v = json.RawMessage(str), nil
		if str != "" && json.Unmarshal(raw, &v) != nil {
			return raw
		}
	}
	blocks, ok := v.([]any)
	if !ok {
		if v == nil {
			return nil
		}
		return raw
	}
	changed := false
	for _, b := range blocks {
		m, _ := b.(map[string]any)
		if m == nil {
			continue
		}
		changed = fillID(m, "block_id") || changed
		if acc, ok := m["accessory"].(map[string]any); ok {
			changed = fillID(acc, "action_id") || changed
		}
		elems, _ := m["elements"].([]any)
		for _, e := range elems {
			if em, ok := e.(map[string]any); ok && m["type"] == "actions" {
				changed = fillID(em, "action_id") || changed
			}
		}
	}
	if changed {
		out, _ := json.Marshal(blocks)
		return out
	}
	if !inString {
		// As the client wrote them, which slack-go does compactly.
		return raw
	}
	var out bytes.Buffer
	if json.Compact(&out, raw) != nil {
		return raw
	}
	return out.Bytes()
}

// fillID gives m a random id under key unless it has one, and reports
// whether it did.
func fillID(m map[string]any, key string) bool {
	if _, ok := m[key]; ok {
		return false
	}
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	id := make([]byte, 5)
	for i := range id {
		id[i] = letters[rand.IntN(len(letters))]
	}
	m[key] = string(id)
	return true
}

// Messages returns the messages of a channel, oldest first, ephemeral
// ones (for any user) and deleted ones included.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Channel == channel {
			out = append(out, m.snapshot())
		}
	}
	return out
}

// Message returns the message with this ts.
func (s *Server) Message(ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.byTS[ts]
	if m == nil {
		return Message{}, false
	}
	return m.snapshot(), true
}

// WaitMessage waits until some message, as it is now or as a later
// change leaves it, satisfies f, and returns it.
func (s *Server) WaitMessage(ctx context.Context, f func(Message) bool) (Message, error) {
	var found Message
	seen := -1
	err := s.wait(ctx, func() bool {
		if seen < 0 {
			seen = len(s.events)
			for _, m := range s.messages {
				if snap := m.snapshot(); f(snap) {
					found = snap
					return true
				}
			}
		}
		for ; seen < len(s.events); seen++ {
			if ev := s.events[seen]; f(ev.Message) {
				found = ev.Message
				return true
			}
		}
		return false
	})
	if err != nil {
		return Message{}, fmt.Errorf("waiting for a message: %w", err)
	}
	return found, nil
}

// WaitReply waits for the first message posted, replaced or deleted by
// env: through its ack payload or its response_url.
func (s *Server) WaitReply(ctx context.Context, env *Envelope) (MessageEvent, error) {
	var found MessageEvent
	err := s.wait(ctx, func() bool {
		idx := s.eventsByEnv[env.ID]
		if len(idx) > 0 {
			found = s.events[idx[0]]
		}
		return len(idx) > 0
	})
	if err != nil {
		return MessageEvent{}, fmt.Errorf("waiting for a reply to %s: %w", env.ID, err)
	}
	return found, nil
}

// Replies returns every change made by env, in order.
func (s *Server) Replies(env *Envelope) []MessageEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []MessageEvent
	for _, i := range s.eventsByEnv[env.ID] {
		out = append(out, s.events[i])
	}
	return out
}

// A Feed reads message events in order, from the moment it was made.
// Nothing is dropped however slowly it is read.
type Feed struct {
	s    *Server
	next int
}

// Feed returns a Feed of the events that happen after this call.
func (s *Server) Feed() *Feed {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Feed{s: s, next: len(s.events)}
}

// Next waits for the next event.
func (f *Feed) Next(ctx context.Context) (MessageEvent, error) {
	var ev MessageEvent
	err := f.s.wait(ctx, func() bool {
		if f.next >= len(f.s.events) {
			return false
		}
		ev = f.s.events[f.next]
		f.next++
		return true
	})
	return ev, err
}

// Subscribe returns a channel of the message events from now on, for a
// terminal to print as they come. It is closed when ctx ends or the
// server closes.
func (s *Server) Subscribe(ctx context.Context) <-chan MessageEvent {
	ch := make(chan MessageEvent)
	f := s.Feed()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		close(ch)
		return ch
	}
	// Added under mu while open, so it happens before Close's Wait.
	s.wg.Go(func() {
		defer close(ch)
		for {
			ev, err := f.Next(ctx)
			if err != nil {
				return
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			case <-s.done:
				return
			}
		}
	})
	return ch
}
