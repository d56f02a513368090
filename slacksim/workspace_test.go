package slacksim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// confirmCard is an ephemeral confirmation prompt as the bot sends it.
var confirmCard = map[string]any{
	"response_type": "ephemeral",
	"text":          "Confirm restart of my-service in myroom",
	"blocks": []any{
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "Restart *my-service*?"}},
		map[string]any{"type": "actions", "block_id": "rs-confirm-actions", "elements": []any{
			map[string]any{
				"type": "button", "action_id": "rs.restart.confirm", "style": "danger",
				"text": map[string]any{"type": "plain_text", "text": "Restart"}, "value": "tok-1",
				"confirm": map[string]any{
					"title":   map[string]any{"type": "plain_text", "text": "Restart my-service?"},
					"text":    map[string]any{"type": "plain_text", "text": "It drops connections."},
					"confirm": map[string]any{"type": "plain_text", "text": "Restart"},
					"deny":    map[string]any{"type": "plain_text", "text": "Keep running"},
				},
			},
			map[string]any{
				"type": "button", "action_id": "rs.restart.cancel",
				"text": map[string]any{"type": "plain_text", "text": "Cancel"}, "value": "tok-1",
			},
		}},
	},
}

// cardBot acks commands with confirmCard and clicks with nothing, and
// hands each click to clicks.
func cardBot(clicks chan<- slack.InteractionCallback) func(*client, socketmode.Event) {
	return func(c *client, ev socketmode.Event) {
		switch ev.Type {
		case socketmode.EventTypeSlashCommand:
			_ = c.sm.Ack(*ev.Request, confirmCard)
		case socketmode.EventTypeInteractive:
			_ = c.sm.Ack(*ev.Request)
			clicks <- ev.Data.(slack.InteractionCallback)
		}
	}
}

// cardFor runs a command and returns the card it produced.
func cardFor(t *testing.T, s *Server, user string) Message {
	t.Helper()
	ctx := waitCtx(t)
	env, err := s.SlashCommand(ctx, SlashCommand{UserID: user, ChannelID: "C0OPS0001", Text: "restart myroom my-service"})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := s.WaitReply(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	return reply.Message
}

func TestClickAndReplaceEphemeralCard(t *testing.T) {
	s := NewServer(t, Config{})
	clicks := make(chan slack.InteractionCallback, 4)
	connected(t, s, clientOpts{handle: cardBot(clicks)})
	ctx := waitCtx(t)
	card := cardFor(t, s, "U0ALICE01")

	env, err := s.Click(ctx, Click{UserID: "U0ALICE01", TS: card.TS, Button: 0})
	if err != nil {
		t.Fatal(err)
	}
	cb := <-clicks
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("click decoded as %q with %d block actions, want one block action",
			cb.Type, len(cb.ActionCallback.BlockActions))
	}
	a := cb.ActionCallback.BlockActions[0]
	if a.BlockID != "rs-confirm-actions" || a.ActionID != "rs.restart.confirm" || a.Value != "tok-1" ||
		a.Text.Text != "Restart" || a.ActionTs == "" {
		t.Errorf("block action = %+v", a)
	}
	if cb.User.ID != "U0ALICE01" || cb.Channel.ID != "C0OPS0001" || cb.ResponseURL != env.ResponseURL ||
		cb.Container.MessageTs != card.TS || !cb.Container.IsEphemeral || cb.TriggerID == "" {
		t.Errorf("callback = user %q channel %q url %q container %+v",
			cb.User.ID, cb.Channel.ID, cb.ResponseURL, cb.Container)
	}
	if _, err := s.WaitAck(ctx, env.ID); err != nil {
		t.Fatal(err)
	}

	// The bot replaces the card through the click's response_url.
	err = slack.PostWebhookContext(ctx, cb.ResponseURL, &slack.WebhookMessage{
		ReplaceOriginal: true, Text: "Restarting my-service",
	})
	if err != nil {
		t.Fatalf("PostWebhook: %v", err)
	}
	got, _ := s.Message(card.TS)
	if got.Text != "Restarting my-service" || got.Source != "response_url" || !got.Ephemeral ||
		len(got.History) != 1 || got.EnvelopeID != env.ID {
		t.Errorf("card after replace = %+v", got)
	}
}

func TestReplaceOriginalWithMsgOptionResponseURL(t *testing.T) {
	s := NewServer(t, Config{})
	clicks := make(chan slack.InteractionCallback, 4)
	c := connected(t, s, clientOpts{handle: cardBot(clicks)})
	ctx := waitCtx(t)
	card := cardFor(t, s, "U1")
	if _, err := s.Click(ctx, Click{UserID: "U1", TS: card.TS, ActionID: "rs.restart.cancel"}); err != nil {
		t.Fatal(err)
	}
	cb := <-clicks

	_, _, err := c.api.PostMessageContext(ctx, "",
		slack.MsgOptionResponseURL(cb.ResponseURL, slack.ResponseTypeEphemeral),
		slack.MsgOptionReplaceOriginal(cb.ResponseURL),
		slack.MsgOptionText("Cancelled", false))
	if err != nil {
		t.Fatalf("posting to response_url: %v", err)
	}
	if got, _ := s.Message(card.TS); got.Text != "Cancelled" {
		t.Errorf("card text = %q, want Cancelled", got.Text)
	}
}

func TestSlashHookReplaceOriginalPostsNew(t *testing.T) {
	s := NewServer(t, Config{})
	connected(t, s, clientOpts{handle: replyWith("Working…")})
	ctx := waitCtx(t)
	env, err := s.SlashCommand(ctx, SlashCommand{UserID: "U1", ChannelID: "C1", Text: "list r"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.WaitReply(ctx, env)
	if err != nil {
		t.Fatal(err)
	}

	err = slack.PostWebhookContext(ctx, env.ResponseURL, &slack.WebhookMessage{ReplaceOriginal: true, Text: "Done"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages("C1")
	if len(msgs) != 2 || msgs[0].TS != first.Message.TS || msgs[0].Text != "Working…" ||
		msgs[1].Text != "Done" || !msgs[1].Ephemeral || msgs[1].VisibleTo != "U1" {
		t.Errorf("messages = %+v, want the ack reply untouched and a new ephemeral Done", msgs)
	}
}

func TestDeleteOriginalAndInChannel(t *testing.T) {
	s := NewServer(t, Config{})
	clicks := make(chan slack.InteractionCallback, 4)
	connected(t, s, clientOpts{handle: cardBot(clicks)})
	ctx := waitCtx(t)
	card := cardFor(t, s, "U1")
	if _, err := s.Click(ctx, Click{UserID: "U1", TS: card.TS}); err != nil {
		t.Fatal(err)
	}
	cb := <-clicks

	if err := slack.PostWebhookContext(ctx, cb.ResponseURL, &slack.WebhookMessage{DeleteOriginal: true}); err != nil {
		t.Fatal(err)
	}
	err := slack.PostWebhookContext(ctx, cb.ResponseURL, &slack.WebhookMessage{
		ResponseType: slack.ResponseTypeInChannel, Text: "alice restarted my-service",
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages("C0OPS0001")
	if len(msgs) != 2 || !msgs[0].Deleted || msgs[1].Ephemeral || msgs[1].VisibleTo != "" {
		t.Errorf("messages = %+v, want the card deleted and an in-channel post", msgs)
	}
	if _, err := s.Click(ctx, Click{UserID: "U1", TS: card.TS}); err == nil {
		t.Error("Click on a deleted message succeeded")
	}
}

func TestClickVisibility(t *testing.T) {
	s := NewServer(t, Config{})
	clicks := make(chan slack.InteractionCallback, 4)
	connected(t, s, clientOpts{handle: cardBot(clicks)})
	ctx := waitCtx(t)
	card := cardFor(t, s, "U0ALICE01")

	if _, err := s.Click(ctx, Click{UserID: "U0MALLORY", TS: card.TS}); err == nil {
		t.Error("another user clicked alice's ephemeral card")
	}
	if _, err := s.Click(ctx, Click{UserID: "U0ALICE01", TS: card.TS, Button: 2}); err == nil {
		t.Error("Click on button #2 of a 2-button card succeeded")
	}
	if _, err := s.Click(ctx, Click{UserID: "U0MALLORY", TS: card.TS, IgnoreVisibility: true}); err != nil {
		t.Fatal(err)
	}
	if cb := <-clicks; cb.User.ID != "U0MALLORY" {
		t.Errorf("forged click from %q", cb.User.ID)
	}
}

func TestDoubleClickMakesTwoEnvelopes(t *testing.T) {
	s := NewServer(t, Config{})
	clicks := make(chan slack.InteractionCallback, 4)
	connected(t, s, clientOpts{handle: cardBot(clicks)})
	ctx := waitCtx(t)
	card := cardFor(t, s, "U1")
	a, err := s.Click(ctx, Click{UserID: "U1", TS: card.TS})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Click(ctx, Click{UserID: "U1", TS: card.TS})
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := <-clicks, <-clicks
	if a.ID == b.ID || ca.ResponseURL == cb.ResponseURL ||
		ca.ActionCallback.BlockActions[0].Value != cb.ActionCallback.BlockActions[0].Value {
		t.Errorf("double click: envelopes %s/%s, urls %s/%s", a.ID, b.ID, ca.ResponseURL, cb.ResponseURL)
	}
}

func TestResponseURLUseLimit(t *testing.T) {
	s := NewServer(t, Config{})
	connected(t, s, clientOpts{})
	ctx := waitCtx(t)
	env, err := s.SlashCommand(ctx, SlashCommand{UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := slack.PostWebhookContext(ctx, env.ResponseURL, &slack.WebhookMessage{Text: "update"}); err != nil {
			t.Fatalf("post %d: %v", i+1, err)
		}
	}
	err = slack.PostWebhookContext(ctx, env.ResponseURL, &slack.WebhookMessage{Text: "one too many"})
	if sc, ok := errors.AsType[slack.StatusCodeError](err); !ok || sc.Code != http.StatusNotFound {
		t.Errorf("6th post = %v, want a 404 StatusCodeError", err)
	}
	calls := s.Calls("response_url")
	if last := calls[len(calls)-1]; last.Error != "used_url" {
		t.Errorf("6th call answered %q, want used_url", last.Error)
	}
}

// fakeClock is a Config.Clock a test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestResponseURLExpires(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1700000000, 0)}
	s := NewServer(t, Config{Clock: clock.Now})
	c := connected(t, s, clientOpts{})
	ctx := waitCtx(t)
	env, err := s.SlashCommand(ctx, SlashCommand{UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}

	clock.Add(29 * time.Minute)
	if err := slack.PostWebhookContext(ctx, env.ResponseURL, &slack.WebhookMessage{Text: "late"}); err != nil {
		t.Fatalf("post at 29 min: %v", err)
	}
	clock.Add(2 * time.Minute)
	_, _, err = c.api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(env.ResponseURL, slack.ResponseTypeEphemeral),
		slack.MsgOptionText("too late", false))
	if sc, ok := errors.AsType[slack.StatusCodeError](err); !ok || sc.Code != http.StatusNotFound {
		t.Errorf("post at 31 min = %v, want a 404 StatusCodeError", err)
	}
	calls := s.Calls("response_url")
	if last := calls[len(calls)-1]; last.Error != "expired_url" {
		t.Errorf("post at 31 min answered %q, want expired_url", last.Error)
	}
}

func TestPostMessageFormAndUpdate(t *testing.T) {
	s := NewServer(t, Config{})
	c := connected(t, s, clientOpts{})
	ctx := waitCtx(t)
	section := slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "Restarting *svc*", false, true), nil, nil)

	ch, ts, err := c.api.PostMessageContext(ctx, "C0OPS0001",
		slack.MsgOptionText("Restarting svc", false), slack.MsgOptionBlocks(section))
	if err != nil || ch != "C0OPS0001" || ts == "" {
		t.Fatalf("PostMessage = %q, %q, %v", ch, ts, err)
	}
	call := s.Calls("chat.postMessage")[0]
	var blocks []map[string]any
	if call.Form.Get("token") != s.Config().BotToken || call.Field("channel") != "C0OPS0001" ||
		call.Field("text") != "Restarting svc" || json.Unmarshal([]byte(call.Field("blocks")), &blocks) != nil ||
		blocks[0]["type"] != "section" {
		t.Errorf("form = %v", call.Form)
	}

	_, _, _, err = c.api.UpdateMessageContext(ctx, "C0OPS0001", ts, slack.MsgOptionText("svc is back", false))
	if err != nil {
		t.Fatalf("UpdateMessage: %v", err)
	}
	m, _ := s.Message(ts)
	if m.Text != "svc is back" || len(m.History) != 1 || m.History[0].Text != "Restarting svc" || m.Blocks == nil {
		t.Errorf("updated message = %+v", m)
	}
}

func TestUpdateOfEphemeralFails(t *testing.T) {
	s := NewServer(t, Config{})
	c := connected(t, s, clientOpts{})
	ctx := waitCtx(t)
	ts, err := c.api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("only you", false))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Message(ts); !m.Ephemeral || m.VisibleTo != "U1" {
		t.Errorf("ephemeral message = %+v", m)
	}
	_, _, _, err = c.api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("edited", false))
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); !ok || se.Err != "message_not_found" {
		t.Errorf("UpdateMessage(ephemeral) = %v, want message_not_found", err)
	}
}

func TestFailNext(t *testing.T) {
	s := NewServer(t, Config{})
	c := connected(t, s, clientOpts{})
	ctx := waitCtx(t)
	post := func() error {
		_, _, err := c.api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false))
		return err
	}

	s.FailNext("chat.postMessage", Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	s.FailNext("chat.postMessage", Fault{Error: "not_in_channel"})
	s.FailNext("chat.postMessage", Fault{Status: http.StatusInternalServerError})
	s.FailNext("chat.postMessage", Fault{Drop: true})

	if rl, ok := errors.AsType[*slack.RateLimitedError](post()); !ok || rl.RetryAfter != time.Second {
		t.Errorf("1st post: want *slack.RateLimitedError after 1s")
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](post()); !ok || se.Err != "not_in_channel" {
		t.Errorf("2nd post: want not_in_channel")
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](post()); !ok || sc.Code != 500 {
		t.Errorf("3rd post: want StatusCodeError 500")
	}
	if _, ok := errors.AsType[*url.Error](post()); !ok {
		t.Errorf("4th post: want a *url.Error from the dropped connection")
	}
	if err := post(); err != nil {
		t.Errorf("5th post = %v, want success", err)
	}
	calls := s.Calls("chat.postMessage")
	if last := calls[len(calls)-2]; last.Status != 0 || last.Error != "dropped" {
		t.Errorf("dropped call recorded as status %d error %q, want 0 and dropped", last.Status, last.Error)
	}
	if n := len(s.Messages("C1")); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

func TestAuthTestAndUserGroups(t *testing.T) {
	s := NewServer(t, Config{})
	s.SetUserGroup("S0ONCALL1", "U1", "U2")
	api := slack.New(s.Config().BotToken, slack.OptionAPIURL(s.APIURL()))
	ctx := waitCtx(t)

	who, err := api.AuthTestContext(ctx)
	if err != nil || who.UserID != DefaultBotUserID || who.TeamID != DefaultTeamID {
		t.Errorf("AuthTest = %+v, %v", who, err)
	}
	members, err := api.GetUserGroupMembersContext(ctx, "S0ONCALL1")
	if err != nil || strings.Join(members, ",") != "U1,U2" {
		t.Errorf("GetUserGroupMembers = %v, %v", members, err)
	}
	if _, err := api.GetUserGroupMembersContext(ctx, "S0NOPE"); err == nil {
		t.Error("unknown user group answered")
	}
	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL()))
	if _, err := bad.AuthTestContext(ctx); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("AuthTest with a wrong token = %v, want invalid_auth", err)
	}
}

func TestLimitsCheckedOnEveryPath(t *testing.T) {
	s := NewServer(t, Config{})
	c := connected(t, s, clientOpts{})
	ctx := waitCtx(t)

	var blocks []slack.Block
	for range 51 {
		blocks = append(blocks, slack.NewDividerBlock())
	}
	_, _, err := c.api.PostMessageContext(ctx, "C1", slack.MsgOptionText("many", false), slack.MsgOptionBlocks(blocks...))
	se, ok := errors.AsType[slack.SlackErrorResponse](err)
	if !ok || se.Err != "invalid_blocks" {
		t.Fatalf("PostMessage(51 blocks) = %v, want invalid_blocks", err)
	}
	if len(se.Errors) != 1 || !strings.Contains(*se.Errors[0].Message, "json-pointer:/blocks") {
		t.Errorf("invalid_blocks detail = %+v", se.Errors)
	}

	env, err := s.SlashCommand(ctx, SlashCommand{UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	long := slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", strings.Repeat("x", 3001), false, false), nil, nil)
	err = slack.PostWebhookContext(ctx, env.ResponseURL, &slack.WebhookMessage{Text: "t", Blocks: &slack.Blocks{BlockSet: []slack.Block{long}}})
	if sc, ok := errors.AsType[slack.StatusCodeError](err); !ok || sc.Code != http.StatusBadRequest {
		t.Errorf("response_url with a 3001-char section = %v, want 400", err)
	}

	// A missing fallback text is only a warning: stored, but flagged.
	if _, _, err := c.api.PostMessageContext(ctx, "C2", slack.MsgOptionBlocks(slack.NewDividerBlock())); err != nil {
		t.Errorf("PostMessage without text = %v, want success", err)
	}

	var pointers []string
	for _, v := range s.Violations() {
		for _, le := range LimitErrors(v) {
			pointers = append(pointers, le.Pointer)
		}
	}
	want := "/blocks /blocks/0/text/text /text"
	if got := strings.Join(pointers, " "); got != want {
		t.Errorf("violation pointers = %q, want %q", got, want)
	}
	if n := len(s.Messages("C1")); n != 0 {
		t.Errorf("%d refused messages stored in C1", n)
	}
}

func TestBlockIDsFilledIn(t *testing.T) {
	s := NewServer(t, Config{})
	c := connected(t, s, clientOpts{})
	ctx := waitCtx(t)
	btn := slack.NewButtonBlockElement("", "v", slack.NewTextBlockObject("plain_text", "Go", false, false))
	_, ts, err := c.api.PostMessageContext(ctx, "C1", slack.MsgOptionText("t", false),
		slack.MsgOptionBlocks(slack.NewActionBlock("", btn)))
	if err != nil {
		t.Fatal(err)
	}
	buttons, err := s.Buttons(ts)
	if err != nil || len(buttons) != 1 || buttons[0].BlockID == "" || buttons[0].ActionID == "" {
		t.Errorf("Buttons = %+v, %v, want block_id and action_id filled in", buttons, err)
	}
}

func TestClickOnChannelMessageCarriesMessage(t *testing.T) {
	s := NewServer(t, Config{})
	clicks := make(chan slack.InteractionCallback, 1)
	c := connected(t, s, clientOpts{handle: cardBot(clicks)})
	ctx := waitCtx(t)
	btn := slack.NewButtonBlockElement("approve", "v1", slack.NewTextBlockObject("plain_text", "Approve", false, false))
	_, ts, err := c.api.PostMessageContext(ctx, "C1", slack.MsgOptionText("approve?", false),
		slack.MsgOptionBlocks(slack.NewActionBlock("approve-block", btn)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Click(ctx, Click{UserID: "U2", TS: ts, ActionID: "approve"}); err != nil {
		t.Fatal(err)
	}
	cb := <-clicks
	if cb.Container.IsEphemeral || cb.Message.Timestamp != ts || cb.Message.Text != "approve?" ||
		len(cb.Message.Blocks.BlockSet) != 1 {
		t.Errorf("click on a channel message: container %+v, message ts %q text %q",
			cb.Container, cb.Message.Timestamp, cb.Message.Text)
	}
}

func TestFeedAndSubscribe(t *testing.T) {
	s := NewServer(t, Config{})
	c := connected(t, s, clientOpts{})
	ctx := waitCtx(t)
	feed := s.Feed()
	subCtx, cancel := context.WithCancel(ctx)
	sub := s.Subscribe(subCtx)

	_, ts, err := c.api.PostMessageContext(ctx, "C1", slack.MsgOptionText("one", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("two", false)); err != nil {
		t.Fatal(err)
	}

	for _, want := range []struct {
		kind EventKind
		text string
	}{{Posted, "one"}, {Edited, "two"}} {
		ev, err := feed.Next(ctx)
		if err != nil || ev.Kind != want.kind || ev.Message.Text != want.text {
			t.Errorf("feed.Next = %+v, %v, want %s %q", ev, err, want.kind, want.text)
		}
		if ev := <-sub; ev.Kind != want.kind || ev.Message.Text != want.text {
			t.Errorf("subscription got %+v, want %s %q", ev, want.kind, want.text)
		}
	}
	m, err := s.WaitMessage(ctx, func(m Message) bool { return m.Text == "two" })
	if err != nil || m.TS != ts {
		t.Errorf("WaitMessage = %+v, %v", m, err)
	}
	cancel()
	if _, open := <-sub; open {
		t.Error("subscription still open after its context ended")
	}
}

func TestRender(t *testing.T) {
	s := NewServer(t, Config{})
	clicks := make(chan slack.InteractionCallback, 1)
	connected(t, s, clientOpts{handle: cardBot(clicks)})
	card := cardFor(t, s, "U1")
	got := card.Render()
	for _, want := range []string{"only visible to U1", "Restart *my-service*?", "[1 Restart (danger)] [2 Cancel]"} {
		if !strings.Contains(got, want) {
			t.Errorf("Render() =\n%s\nwant it to contain %q", got, want)
		}
	}
}

func TestEmptyAckPayloadPostsNothing(t *testing.T) {
	s := NewServer(t, Config{})
	connected(t, s, clientOpts{handle: func(c *client, ev socketmode.Event) {
		if ev.Request != nil && ev.Request.EnvelopeID != "" {
			_ = c.sm.Ack(*ev.Request, map[string]any{})
		}
	}})
	ctx := waitCtx(t)
	env, err := s.SlashCommand(ctx, SlashCommand{UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitAck(ctx, env.ID); err != nil {
		t.Fatal(err)
	}
	if n, v := len(s.Messages("C1")), s.Violations(); n != 0 || len(v) != 1 {
		t.Errorf("empty ack payload: %d messages, violations %v; want none and one", n, v)
	}
}

// TestDoubleClickBeforeReplace: both clicks of a DoubleClick come from the
// card as it was, each with its own envelope and response_url.
func TestDoubleClickBeforeReplace(t *testing.T) {
	s := NewServer(t, Config{})
	clicks := make(chan slack.InteractionCallback, 4)
	connected(t, s, clientOpts{handle: cardBot(clicks)})
	ctx := waitCtx(t)
	card := cardFor(t, s, "U1")

	a, b, err := s.DoubleClick(ctx, Click{UserID: "U1", TS: card.TS, ActionID: "rs.restart.confirm"})
	if err != nil {
		t.Fatalf("DoubleClick: %v", err)
	}
	ca, cb := <-clicks, <-clicks
	if a.ID == b.ID || ca.ResponseURL == cb.ResponseURL {
		t.Errorf("double click shares envelope %s/%s or url %s", a.ID, b.ID, ca.ResponseURL)
	}
	for _, c := range []slack.InteractionCallback{ca, cb} {
		if acts := c.ActionCallback.BlockActions; len(acts) != 1 || acts[0].ActionID != "rs.restart.confirm" {
			t.Errorf("click carries %+v, want one rs.restart.confirm", acts)
		}
	}
}
