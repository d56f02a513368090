package slacksim

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// A hook is one response_url. Slack takes up to 5 posts on it within 30
// minutes of the interaction that made it.
type hook struct {
	created time.Time // by Config.Clock
	uses    int
	channel string
	user    string // who ran the command or clicked
	envID   string
	// msgTS is the message a click's hook belongs to; replace_original
	// and delete_original act on it. A slash command's hook has none.
	msgTS string
}

// newHookLocked makes a response_url. s.mu must be held.
func (s *Server) newHookLocked(channel, user, envID, msgTS string) string {
	id := s.nextIDLocked("h-")
	s.hooks[id] = &hook{
		created: s.cfg.Clock(),
		channel: channel,
		user:    user,
		envID:   envID,
		msgTS:   msgTS,
	}
	return s.hookURL(id)
}

// serveHook answers a POST to a response_url.
func (s *Server) serveHook(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxFrameBytes))
	// The post is timed as it arrives, before it is parsed: load tools
	// take the reply latency from here.
	call := Call{Method: "response_url", Body: body, Hook: r.PathValue("id"), Time: s.cfg.Clock()}
	post := readPost(body)

	s.mu.Lock()
	f, faulted := s.takeFaultLocked("response_url")
	var res reply
	if faulted {
		res = f.reply()
	} else {
		res = s.hookPostLocked(call.Hook, post)
	}
	call.Status, call.Error = res.status, res.errorCode()
	s.calls = append(s.calls, call)
	s.notifyLocked()
	s.mu.Unlock()

	s.log.Debug("response_url call", "status", call.Status, "err", call.Error, "fault", faulted)
	res.write(w)
}

// A hookPost is a response_url body read, checked against Slack's limits
// and its blocks normalised. That is most of the stand-in's work for a
// post, so it is done before the server's lock is taken, and posts from
// many workers are read in parallel.
type hookPost struct {
	msg    replyBody
	bad    bool  // not a JSON object of the right shape
	limits error // what CheckMessage said
	blocks json.RawMessage
}

// readPost decodes the body once for all three uses. Its blocks are
// decoded generically for the checker, its other fields as replyBody
// types them, so that a wrongly typed field is refused.
func readPost(body []byte) *hookPost {
	p := &hookPost{bad: true}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || top == nil {
		return p
	}
	raw := top["blocks"]
	for name, dst := range map[string]any{
		"text": &p.msg.Text, "response_type": &p.msg.ResponseType,
		"replace_original": &p.msg.ReplaceOriginal, "delete_original": &p.msg.DeleteOriginal,
	} {
		if v, ok := top[name]; ok && json.Unmarshal(v, dst) != nil {
			return p
		}
	}
	p.bad = false
	if p.msg.DeleteOriginal {
		return p
	}

	// What the checker sees: the text as it came, and the blocks.
	parts := map[string]any{}
	if t, ok := top["text"]; ok {
		var v any
		json.Unmarshal(t, &v)
		parts["text"] = v
	}
	var blocks any
	if raw != nil {
		json.Unmarshal(raw, &blocks)
		parts["blocks"] = blocks
	}
	p.limits = checkTop(parts)
	p.blocks = normalised(raw, blocks)
	return p
}

// hookPostLocked applies one response_url post.
//
// Refusals are non-2xx, so that both of slack-go's ways of posting
// notice them: PostWebhook looks at the status only, and
// MsgOptionResponseURL checks the status before it reads the body. The
// body still names the reason.
// TODO(slacksim): the exact status Slack uses for expired_url and
// used_url is not documented; 404 is what clients report seeing.
func (s *Server) hookPostLocked(id string, p *hookPost) reply {
	h := s.hooks[id]
	switch {
	case h == nil:
		return refuse(http.StatusNotFound, "invalid_url")
	case s.cfg.Clock().Sub(h.created) > hookLifetime:
		return refuse(http.StatusNotFound, "expired_url")
	case h.uses >= hookUses:
		return refuse(http.StatusNotFound, "used_url")
	case p.bad:
		return refuse(http.StatusBadRequest, "invalid_payload")
	}
	h.uses++
	msg := p.msg

	target := s.byTS[h.msgTS]
	if target != nil && target.Deleted {
		target = nil
	}
	if msg.DeleteOriginal {
		// A slash command's hook has nothing of its own to delete: Slack
		// does not let it remove the user's command.
		if target != nil {
			s.deleteLocked(target, "response_url", h.envID)
		}
		return okReply(nil)
	}

	if refused := s.recordLocked("response_url post for envelope "+h.envID, p.limits); len(refused) > 0 {
		return invalidBlocks(http.StatusBadRequest, refused)
	}
	blocks := p.blocks
	if msg.ReplaceOriginal && target != nil {
		// The replaced message keeps its visibility: an ephemeral card
		// stays ephemeral whatever response_type says.
		s.editLocked(target, msg.Text, blocks, "response_url", h.envID)
		return okReply(nil)
	}

	// Either a new message was asked for, or replace_original came on a
	// slash command's hook, which has no message of its own: Slack then
	// posts a new message instead (bolt-js #2287, bolt-python #1268).
	s.postLocked(&Message{
		Channel:    h.channel,
		User:       s.cfg.BotUserID,
		Ephemeral:  msg.ResponseType != "in_channel",
		VisibleTo:  h.user,
		Text:       msg.Text,
		Blocks:     blocks,
		Source:     "response_url",
		EnvelopeID: h.envID,
	})
	return okReply(nil)
}

func refuse(status int, code string) reply {
	r := errReply(code)
	r.status = status
	return r
}
