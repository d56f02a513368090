package slacksim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// verificationToken is the deprecated token Slack still puts in payloads;
// Socket Mode apps need not check it.
const verificationToken = "slacksim-verification-token"

// A SlashCommand is what a user types in a channel.
type SlashCommand struct {
	UserID    string
	UserName  string // default: the id, lower-cased
	ChannelID string
	// ChannelName defaults to the id, lower-cased.
	ChannelName string
	Command     string // default "/room-services"
	Text        string // everything after the command
}

// SlashCommand sends a slash_commands envelope with the full payload
// Slack builds, a fresh response_url and trigger_id, and returns it once
// written. Its ack payload, if any, becomes the reply message.
func (s *Server) SlashCommand(ctx context.Context, cmd SlashCommand) (*Envelope, error) {
	if cmd.UserID == "" || cmd.ChannelID == "" {
		return nil, errors.New("slacksim: a slash command needs UserID and ChannelID")
	}
	cmd.UserName = orLower(cmd.UserName, cmd.UserID)
	cmd.ChannelName = orLower(cmd.ChannelName, cmd.ChannelID)
	if cmd.Command == "" {
		cmd.Command = "/room-services"
	}

	s.mu.Lock()
	env := &Envelope{
		ID: s.newEnvelopeIDLocked(), Type: "slash_commands",
		AcceptsResponsePayload: true,
	}
	env.ResponseURL = s.newHookLocked(cmd.ChannelID, cmd.UserID, env.ID, "")
	payload := slashPayload{
		Token: verificationToken, TeamID: s.cfg.TeamID, TeamDomain: s.cfg.TeamDomain,
		ChannelID: cmd.ChannelID, ChannelName: cmd.ChannelName,
		UserID: cmd.UserID, UserName: cmd.UserName,
		Command: cmd.Command, Text: cmd.Text, APIAppID: s.cfg.AppID,
		IsEnterpriseInstall: "false", ResponseURL: env.ResponseURL,
		TriggerID: s.triggerIDLocked(),
	}
	s.envelopes[env.ID] = &envelopeRec{channel: cmd.ChannelID, user: cmd.UserID}
	s.mu.Unlock()

	env.Payload, _ = json.Marshal(payload)
	if err := s.Send(ctx, env); err != nil {
		return nil, fmt.Errorf("sending %s: %w", cmd.Command, err)
	}
	return env, nil
}

// slashPayload is a slash_commands payload as Slack writes it. A struct
// rather than a map: a load tool sends thousands, and a map's keys are
// sorted at every encoding.
type slashPayload struct {
	Token               string `json:"token"`
	TeamID              string `json:"team_id"`
	TeamDomain          string `json:"team_domain"`
	ChannelID           string `json:"channel_id"`
	ChannelName         string `json:"channel_name"`
	UserID              string `json:"user_id"`
	UserName            string `json:"user_name"`
	Command             string `json:"command"`
	Text                string `json:"text"`
	APIAppID            string `json:"api_app_id"`
	IsEnterpriseInstall string `json:"is_enterprise_install"`
	ResponseURL         string `json:"response_url"`
	TriggerID           string `json:"trigger_id"`
}

func orLower(v, id string) string {
	if v != "" {
		return v
	}
	return strings.ToLower(id)
}

func (s *Server) triggerIDLocked() string {
	s.seq++
	return fmt.Sprintf("%d.%d.%08x", s.cfg.Clock().Unix(), s.seq, s.seq*2654435761)
}

// A Button is one button of a stored message.
type Button struct {
	Index    int // position among the message's buttons, from 0
	BlockID  string
	ActionID string
	Text     string
	Value    string
	Style    string
	URL      string
	Confirm  bool // it opens a confirmation dialog before the click counts
	raw      map[string]any
}

// Buttons lists the buttons of the message with this ts, in order: those
// of actions blocks and section accessories.
func (s *Server) Buttons(ts string) ([]Button, error) {
	m, ok := s.Message(ts)
	if !ok {
		return nil, fmt.Errorf("slacksim: no message %s", ts)
	}
	return buttonsOf(m.Blocks), nil
}

func buttonsOf(raw json.RawMessage) []Button {
	var blocks []map[string]any
	_ = json.Unmarshal(raw, &blocks)
	var out []Button
	for _, b := range blocks {
		blockID, _ := b["block_id"].(string)
		var elems []any
		if b["type"] == "actions" {
			elems, _ = b["elements"].([]any)
		}
		if acc, ok := b["accessory"]; ok {
			elems = append(elems, acc)
		}
		for _, e := range elems {
			if btn, ok := asButton(e, blockID); ok {
				btn.Index = len(out)
				out = append(out, btn)
			}
		}
	}
	return out
}

func asButton(v any, blockID string) (Button, bool) {
	e, _ := v.(map[string]any)
	if e == nil || e["type"] != "button" {
		return Button{}, false
	}
	str := func(k string) string { s, _ := e[k].(string); return s }
	text, _ := e["text"].(map[string]any)
	label, _ := text["text"].(string)
	_, confirm := e["confirm"]
	return Button{
		BlockID: blockID, ActionID: str("action_id"), Text: label,
		Value: str("value"), Style: str("style"), URL: str("url"),
		Confirm: confirm, raw: e,
	}, true
}

// A Click is a user pressing a button of a stored message.
type Click struct {
	UserID string
	TS     string // the message that holds the button
	// ActionID picks the button; when empty, Button is its index among
	// the message's buttons (see Buttons).
	ActionID string
	Button   int
	// IgnoreVisibility lets a user click an ephemeral message shown to
	// someone else, which no Slack client allows; for tests of a forged
	// or misrouted click.
	IgnoreVisibility bool
}

// Click sends a block_actions envelope for a button of a stored message,
// with block_id, value, a container naming the message and a new
// response_url bound to it, so replace_original on that url replaces the
// message. A confirmation dialog is taken as accepted.
func (s *Server) Click(ctx context.Context, c Click) (*Envelope, error) {
	s.mu.Lock()
	env, err := s.clickLocked(c)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := s.Send(ctx, env); err != nil {
		return nil, fmt.Errorf("sending click: %w", err)
	}
	return env, nil
}

// DoubleClick clicks a button twice as fast as a user can: both clicks
// are made from the message as it is now, before the first one's answer
// can replace it, and both are sent at once. Each has its own envelope
// and response_url, as two real clicks do.
func (s *Server) DoubleClick(ctx context.Context, c Click) (first, second *Envelope, err error) {
	s.mu.Lock()
	first, err = s.clickLocked(c)
	if err == nil {
		second, err = s.clickLocked(c)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	errs := make(chan error, 2)
	for _, env := range []*Envelope{first, second} {
		go func() { errs <- s.Send(ctx, env) }()
	}
	for range 2 {
		if e := <-errs; e != nil && err == nil {
			err = fmt.Errorf("sending click: %w", e)
		}
	}
	return first, second, err
}

func (s *Server) clickLocked(c Click) (*Envelope, error) {
	m := s.byTS[c.TS]
	switch {
	case m == nil || m.Deleted:
		return nil, fmt.Errorf("slacksim: no message %s to click", c.TS)
	case m.Ephemeral && m.VisibleTo != c.UserID && !c.IgnoreVisibility:
		return nil, fmt.Errorf("slacksim: message %s is shown only to %s", c.TS, m.VisibleTo)
	}
	btn, err := pickButton(buttonsOf(m.Blocks), c)
	if err != nil {
		return nil, err
	}

	env := &Envelope{
		ID: s.newEnvelopeIDLocked(), Type: "interactive",
		AcceptsResponsePayload: true,
	}
	env.ResponseURL = s.newHookLocked(m.Channel, c.UserID, env.ID, m.TS)
	s.envelopes[env.ID] = &envelopeRec{channel: m.Channel, user: c.UserID}
	env.Payload, _ = json.Marshal(s.blockActionsLocked(m, c.UserID, btn, env.ResponseURL))
	return env, nil
}

func pickButton(buttons []Button, c Click) (Button, error) {
	if c.ActionID == "" {
		if c.Button < 0 || c.Button >= len(buttons) {
			return Button{}, fmt.Errorf("slacksim: message %s has %d buttons, no #%d",
				c.TS, len(buttons), c.Button)
		}
		return buttons[c.Button], nil
	}
	for _, b := range buttons {
		if b.ActionID == c.ActionID {
			return b, nil
		}
	}
	return Button{}, fmt.Errorf("slacksim: message %s has no button %q", c.TS, c.ActionID)
}

// blockActionsLocked builds the payload of a button click, shaped as in
// shared/slack-socket-mode.md A.8. Every action carries block_id:
// without it slack-go files the action under AttachmentActions.
func (s *Server) blockActionsLocked(m *Message, user string, b Button,
	hookURL string) map[string]any {
	p := map[string]any{
		"type":                  "block_actions",
		"api_app_id":            s.cfg.AppID,
		"token":                 verificationToken,
		"trigger_id":            s.triggerIDLocked(),
		"team":                  map[string]any{"id": s.cfg.TeamID, "domain": s.cfg.TeamDomain},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"user": map[string]any{
			"id": user, "username": strings.ToLower(user),
			"name": strings.ToLower(user), "team_id": s.cfg.TeamID,
		},
		"channel": map[string]any{"id": m.Channel, "name": strings.ToLower(m.Channel)},
		"container": map[string]any{
			"type": "message", "message_ts": m.TS,
			"channel_id": m.Channel, "is_ephemeral": m.Ephemeral,
		},
		"response_url": hookURL,
		"state":        map[string]any{"values": map[string]any{}},
		"actions":      []any{s.buttonActionLocked(b)},
	}
	// Slack includes the message for ordinary messages; for ephemeral
	// ones it cannot be relied on, so it is left out.
	if !m.Ephemeral {
		p["message"] = s.wireMessage(m)
	}
	return p
}

// buttonActionLocked is the actions[] entry of a button press.
func (s *Server) buttonActionLocked(b Button) map[string]any {
	action := map[string]any{
		"type":      "button",
		"action_id": b.ActionID,
		"block_id":  b.BlockID,
		"text":      b.raw["text"],
		"value":     b.Value,
		"action_ts": s.tsLocked(),
	}
	if b.Style != "" {
		action["style"] = b.Style
	}
	return action
}
