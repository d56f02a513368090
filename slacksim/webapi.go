package slacksim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// A Call is one request the stand-in received, on the Web API or on a
// response_url, with what it answered.
type Call struct {
	Method string // "chat.postMessage", …, or "response_url"
	Time   time.Time
	Form   url.Values // a form-encoded body, token included
	Body   []byte     // the raw body; JSON for response_url
	Hook   string     // the hook id of a response_url call
	Status int        // HTTP status answered
	Error  string     // error code answered; "" when ok
}

// Field returns a form field, or a top-level field of a JSON body (a
// string as it is, anything else as JSON). Blocks read the same way from
// a form post, where slack-go sends them as a JSON string, and from a
// response_url body.
func (c Call) Field(name string) string {
	if c.Form != nil {
		return c.Form.Get(name)
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(c.Body, &m) != nil || m[name] == nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[name], &s) == nil {
		return s
	}
	return string(m[name])
}

// A Fault makes one call fail.
type Fault struct {
	// Status is the HTTP status; 0 means 200 with an ok:false body.
	Status int
	// RetryAfter is sent as Retry-After, in whole seconds rounded up.
	// slack-go turns a 429 with it into *slack.RateLimitedError.
	RetryAfter time.Duration
	// Error is the error code of the body; by default ratelimited for
	// 429, internal_error for other statuses.
	Error string
	// Drop closes the connection without an answer, as a network fault
	// does: the client sees an error, not a status. The call is recorded
	// with status 0 and error "dropped".
	Drop bool
}

// FailNext makes the next call of method fail with f; faults queue up,
// one per call. method is a Web API method, "apps.connections.open"
// included, or "response_url".
func (s *Server) FailNext(method string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], f)
}

// RejectAuth makes apps.connections.open answer invalid_auth, which
// slack-go treats as fatal: RunContext returns the error.
func (s *Server) RejectAuth(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectAuth = on
}

// SetUserGroup sets the members that usergroups.users.list returns for
// the user group id.
func (s *Server) SetUserGroup(id string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = append([]string(nil), members...)
}

// Calls returns the recorded calls of method, or all calls for "".
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsLocked(method)
}

func (s *Server) callsLocked(method string) []Call {
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// WaitCalls waits until method has been called n times and returns the
// calls.
func (s *Server) WaitCalls(ctx context.Context, method string, n int) ([]Call, error) {
	var out []Call
	err := s.wait(ctx, func() bool {
		out = s.callsLocked(method)
		return len(out) >= n
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for %d %s calls: %w", n, method, err)
	}
	return out, nil
}

// reply is an answer to a call, made under the lock and written after.
type reply struct {
	status     int
	retryAfter time.Duration
	body       map[string]any
	drop       bool // close the connection instead
}

func okReply(fields map[string]any) reply {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["ok"] = true
	return reply{status: http.StatusOK, body: fields}
}

// errReply is Slack's usual failure: HTTP 200 with ok:false.
func errReply(code string) reply {
	return reply{status: http.StatusOK, body: map[string]any{"ok": false, "error": code}}
}

// invalidBlocks answers as Slack does for blocks it refuses, with one
// line per problem naming its JSON pointer.
func invalidBlocks(status int, refused []*LimitError) reply {
	errs := make([]string, len(refused))
	msgs := make([]string, len(refused))
	for i, le := range refused {
		errs[i] = le.Error()
		msgs[i] = "[ERROR] " + le.Error()
	}
	r := errReply("invalid_blocks")
	r.status = status
	r.body["errors"] = errs
	r.body["response_metadata"] = map[string]any{"messages": msgs}
	return r
}

func (f Fault) reply() reply {
	if f.Drop {
		return reply{drop: true, body: map[string]any{"ok": false, "error": "dropped"}}
	}
	code := f.Error
	switch {
	case code != "":
	case f.Status == http.StatusTooManyRequests:
		code = "ratelimited"
	case f.Status != 0:
		code = "internal_error"
	}
	r := errReply(code)
	if f.Status != 0 {
		r.status = f.Status
	}
	r.retryAfter = f.RetryAfter
	return r
}

func (r reply) errorCode() string {
	if ok, _ := r.body["ok"].(bool); ok {
		return ""
	}
	code, _ := r.body["error"].(string)
	return code
}

func (r reply) write(w http.ResponseWriter) {
	if r.drop {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
			return
		}
		// A connection that cannot be taken over is cut by the server.
		panic(http.ErrAbortHandler)
	}
	if r.retryAfter > 0 {
		secs := int(math.Ceil(r.retryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(r.status)
	_ = json.NewEncoder(w).Encode(r.body)
}

// takeFaultLocked pops the next fault queued for method.
func (s *Server) takeFaultLocked(method string) (Fault, bool) {
	q := s.faults[method]
	if len(q) == 0 {
		return Fault{}, false
	}
	s.faults[method] = q[1:]
	return q[0], true
}

// serveAPI answers POST /api/{method}. Slack's Web API takes form posts
// (chat.*, auth.test, usergroups.*) and JSON posts
// (apps.connections.open, with an empty body).
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxFrameBytes))
	call := Call{Method: r.PathValue("method"), Body: body}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		call.Form, _ = url.ParseQuery(string(body))
	}

	s.mu.Lock()
	call.Time = s.cfg.Clock()
	rep, faulted := s.faultOrAnswerLocked(&call, r.Header.Get("Authorization"))
	call.Status, call.Error = rep.status, rep.errorCode()
	s.calls = append(s.calls, call)
	if call.Method == "apps.connections.open" {
		s.opens++
	}
	s.notifyLocked()
	s.mu.Unlock()

	s.log.Debug("web api call", "method", call.Method, "status", call.Status,
		"err", call.Error, "fault", faulted)
	rep.write(w)
}

func (s *Server) faultOrAnswerLocked(call *Call, auth string) (reply, bool) {
	if f, ok := s.takeFaultLocked(call.Method); ok {
		return f.reply(), true
	}
	if call.Method == "apps.connections.open" {
		return s.openLocked(auth), false
	}
	if code := s.botAuth(call.Form, auth); code != "" {
		return errReply(code), false
	}
	switch call.Method {
	case "auth.test":
		return s.authTestLocked(), false
	case "chat.postMessage":
		if rep, over := s.overRateLocked(call.Form.Get("channel")); over {
			return rep, false
		}
		return s.postMessageLocked(call.Form, false), false
	case "chat.postEphemeral":
		return s.postMessageLocked(call.Form, true), false
	case "chat.update":
		return s.updateLocked(call.Form), false
	case "usergroups.users.list":
		return s.groupMembersLocked(call.Form), false
	default:
		// TODO(slacksim): only the methods roombot calls are modelled.
		return errReply("unknown_method"), false
	}
}

// openLocked answers apps.connections.open, the only method that takes
// the app-level token, in a Bearer header.
func (s *Server) openLocked(auth string) reply {
	switch {
	case auth == "":
		return errReply("not_authed")
	case s.rejectAuth || auth != "Bearer "+s.cfg.AppToken:
		return errReply("invalid_auth")
	}
	ticket := s.nextIDLocked("t-")
	s.tickets[ticket] = true
	u := "ws" + s.base[len("http"):] + "/link/?ticket=" + ticket + "&app_id=" + s.cfg.AppID
	return okReply(map[string]any{"url": u})
}

// botAuth checks the bot token: slack-go sends it as the form field
// token; Slack also takes a Bearer header.
func (s *Server) botAuth(form url.Values, auth string) string {
	tok := form.Get("token")
	if tok == "" && len(auth) > len("Bearer ") {
		tok = auth[len("Bearer "):]
	}
	switch {
	case tok == "":
		return "not_authed"
	case tok != s.cfg.BotToken:
		return "invalid_auth"
	}
	return ""
}

func (s *Server) authTestLocked() reply {
	return okReply(map[string]any{
		"url":     "https://" + s.cfg.TeamDomain + ".slack.com/",
		"team":    s.cfg.TeamDomain,
		"user":    "room-services",
		"team_id": s.cfg.TeamID,
		"user_id": s.cfg.BotUserID,
		"bot_id":  s.cfg.BotID,
	})
}

// formMessage rebuilds the JSON object of a form-posted message for the
// checker, leaving out the fields that were not sent.
func formMessage(form url.Values) []byte {
	m := map[string]any{}
	for _, k := range []string{"text", "blocks"} {
		if form.Has(k) {
			m[k] = form.Get(k)
		}
	}
	b, _ := json.Marshal(m)
	return b
}

// overRateLocked takes a post to channel from its bucket, and answers as
// Slack does when the bucket is empty: 429, with Retry-After saying when
// a post will be taken.
//
// TODO(slacksim): Slack's per-workspace tiers are not modelled: chat.update
// is Tier 3 (50+ a minute), chat.postEphemeral Tier 4 (100+); the "+"
// makes them floors, not the limits Slack enforces. Only the per-channel
// rate of chat.postMessage, the one the bot must pace itself to, is.
func (s *Server) overRateLocked(channel string) (reply, bool) {
	if s.cfg.PostRate == rate.Inf {
		return reply{}, false
	}
	lim := s.postLimits[channel]
	if lim == nil {
		lim = rate.NewLimiter(s.cfg.PostRate, s.cfg.PostBurst)
		s.postLimits[channel] = lim
	}
	now := time.Now()
	r := lim.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	if wait == 0 {
		return reply{}, false
	}
	r.CancelAt(now) // a refused post takes no token
	s.violationLocked(fmt.Errorf("chat.postMessage to %s over Slack's rate of "+
		"about one a second per channel: answered 429, retry after %v", channel, wait))
	rep := errReply("ratelimited")
	rep.status, rep.retryAfter = http.StatusTooManyRequests, wait
	return rep, true
}

// postMessageLocked answers chat.postMessage and chat.postEphemeral.
func (s *Server) postMessageLocked(form url.Values, ephemeral bool) reply {
	method := "chat.postMessage"
	if ephemeral {
		method = "chat.postEphemeral"
	}
	ch, user := form.Get("channel"), form.Get("user")
	switch {
	case ch == "":
		return errReply("channel_not_found")
	case ephemeral && user == "":
		return errReply("user_not_in_channel")
	case form.Get("text") == "" && form.Get("blocks") == "":
		return errReply("no_text")
	}
	if refused := s.checkLocked(method+" to "+ch, formMessage(form)); len(refused) > 0 {
		return invalidBlocks(http.StatusOK, refused)
	}

	// TODO(slacksim): channel membership (not_in_channel) and threads
	// (thread_ts) are not modelled; FailNext gives the errors.
	m := &Message{
		Channel:   ch,
		User:      s.cfg.BotUserID,
		Ephemeral: ephemeral,
		VisibleTo: user,
		Text:      form.Get("text"),
		Blocks:    s.normaliseBlocks(json.RawMessage(form.Get("blocks"))),
		Source:    method,
	}
	if !form.Has("blocks") {
		m.Blocks = nil
	}
	s.postLocked(m)
	if ephemeral {
		return okReply(map[string]any{"message_ts": m.TS})
	}
	return okReply(map[string]any{"channel": ch, "ts": m.TS, "message": s.wireMessage(m)})
}

// updateLocked answers chat.update. Slack cannot edit an ephemeral
// message this way: it is not found, as it is for the Web API generally.
func (s *Server) updateLocked(form url.Values) reply {
	ch, ts := form.Get("channel"), form.Get("ts")
	m := s.byTS[ts]
	switch {
	case m == nil || m.Channel != ch || m.Deleted || m.Ephemeral:
		return errReply("message_not_found")
	case m.User != s.cfg.BotUserID:
		return errReply("cant_update_message")
	case form.Get("text") == "" && form.Get("blocks") == "":
		return errReply("no_text")
	}
	if refused := s.checkLocked("chat.update of "+ts, formMessage(form)); len(refused) > 0 {
		return invalidBlocks(http.StatusOK, refused)
	}

	text, blocks := m.Text, m.Blocks
	if form.Has("text") {
		text = form.Get("text")
	}
	// TODO(slacksim): an update without blocks keeps the old ones; Slack's
	// documentation is not explicit about this case.
	if form.Has("blocks") {
		blocks = s.normaliseBlocks(json.RawMessage(form.Get("blocks")))
	}
	s.editLocked(m, text, blocks, "chat.update", "")
	return okReply(map[string]any{"channel": ch, "ts": ts, "text": text, "message": s.wireMessage(m)})
}

func (s *Server) groupMembersLocked(form url.Values) reply {
	members, ok := s.groups[form.Get("usergroup")]
	if !ok {
		return errReply("no_such_subteam")
	}
	return okReply(map[string]any{"users": append([]string{}, members...)})
}

// wireMessage is a message as the Web API and block_actions payloads
// show it.
func (s *Server) wireMessage(m *Message) map[string]any {
	w := map[string]any{
		"type":   "message",
		"user":   m.User,
		"bot_id": s.cfg.BotID,
		"ts":     m.TS,
		"text":   m.Text,
	}
	if m.Blocks != nil {
		w["blocks"] = m.Blocks
	}
	return w
}
