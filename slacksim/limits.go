package slacksim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Slack's limits on a message, from the Block Kit reference (March 2025)
// as summarised in shared/slack-socket-mode.md B.2 and B.3.
const (
	maxBlocks        = 50
	maxTopText       = 40000 // Slack truncates past this, with a warning
	maxSectionText   = 3000
	maxFields        = 10
	maxFieldText     = 2000
	maxHeaderText    = 150
	maxContextElems  = 10
	maxActionsElems  = 25
	maxBlockID       = 255
	maxButtonText    = 75
	maxButtonValue   = 2000
	maxActionID      = 255
	maxButtonURL     = 3000
	maxConfirmTitle  = 100
	maxConfirmText   = 300
	maxConfirmButton = 30
	maxMarkdownBlock = 12000
	maxAltText       = 2000

	// MaxAckBytes is the size from which Slack silently drops a Socket
	// Mode response frame; slack-go refuses to send one this large.
	MaxAckBytes = 20 * 1024
)

// A LimitError is one way in which a message breaks Slack's limits.
// Its text follows the shape of Slack's own invalid_blocks details.
type LimitError struct {
	Pointer string // JSON pointer into the message, e.g. /blocks/3/text/text
	Reason  string // what is wrong, e.g. "must be at most 3000 characters, has 3001"
}

func (e *LimitError) Error() string {
	return e.Reason + " [json-pointer:" + e.Pointer + "]"
}

// LimitErrors unpacks the violations joined in an error from CheckMessage
// or CheckAck. It returns nil for a nil error.
func LimitErrors(err error) []*LimitError {
	var out []*LimitError
	var walk func(error)
	walk = func(err error) {
		if le, ok := err.(*LimitError); ok {
			out = append(out, le)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if e := errors.Unwrap(err); e != nil {
			walk(e)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// CheckMessage checks one message as Slack would receive it — the JSON
// object of a chat.postMessage / chat.postEphemeral / chat.update /
// response_url body or a Socket Mode ack payload, with top-level "text"
// and "blocks" (blocks may also arrive as a JSON string, as slack-go's
// form posts send it) — and returns an error joining every limit it
// breaks (nil when it fits). Each violation is a *LimitError naming its
// JSON pointer, e.g. /blocks/3/text/text.
//
// A body that only deletes a message ({"delete_original":true}) carries
// no text and should not be checked.
func CheckMessage(msg []byte) error {
	var top map[string]any
	if err := json.Unmarshal(msg, &top); err != nil || top == nil {
		return &LimitError{Pointer: "", Reason: "must be a JSON object"}
	}
	return checkTop(top)
}

// checkTop is CheckMessage on a message already decoded.
func checkTop(top map[string]any) error {
	c := &checker{}
	c.topText(top)
	if blocks, ok := c.blockList(top["blocks"]); ok {
		c.blocks(blocks)
	}
	return c.err()
}

// CheckAck checks one Socket Mode response frame as the client would
// write it: {"envelope_id":…,"payload":…}. Slack silently drops frames of
// MaxAckBytes or more. The payload itself is checked by CheckMessage.
func CheckAck(frame []byte) error {
	c := &checker{}
	if len(frame) >= MaxAckBytes {
		c.add("", "socket mode response is %d bytes, Slack drops %d or more",
			len(frame), MaxAckBytes)
	}
	var ack map[string]any
	if err := json.Unmarshal(frame, &ack); err != nil || ack == nil {
		c.add("", "must be a JSON object")
		return c.err()
	}
	if id, _ := ack["envelope_id"].(string); id == "" {
		c.add("/envelope_id", "must be a non-empty string")
	}
	return c.err()
}

// checker collects violations while walking one message.
type checker struct {
	errs     []error
	blockIDs map[string]bool
}

func (c *checker) add(ptr, format string, args ...any) {
	c.errs = append(c.errs, &LimitError{Pointer: ptr, Reason: fmt.Sprintf(format, args...)})
}

func (c *checker) err() error { return errors.Join(c.errs...) }

// topText checks the notification and screen-reader fallback, which Slack
// wants beside blocks (it warns without it) and which is all a message
// without blocks has.
func (c *checker) topText(top map[string]any) {
	v, ok := top["text"]
	if !ok || v == nil {
		c.add("/text", "must be present: it is the notification fallback")
		return
	}
	s, ok := v.(string)
	switch {
	case !ok:
		c.add("/text", "must be a string")
	case s == "":
		c.add("/text", "must not be empty: it is the notification fallback")
	default:
		c.maxLen("/text", s, maxTopText)
	}
}

// blockList returns the blocks of a message. slack-go's form posts send
// them as a JSON string; JSON bodies send an array.
func (c *checker) blockList(v any) ([]any, bool) {
	switch b := v.(type) {
	case nil:
		return nil, false
	case []any:
		return b, true
	case string:
		if b == "" {
			return nil, false
		}
		var list []any
		if err := json.Unmarshal([]byte(b), &list); err != nil {
			c.add("/blocks", "must be a JSON array of blocks")
			return nil, false
		}
		return list, true
	default:
		c.add("/blocks", "must be an array of blocks")
		return nil, false
	}
}

func (c *checker) blocks(blocks []any) {
	if len(blocks) > maxBlocks {
		c.add("/blocks", "must have at most %d blocks, has %d", maxBlocks, len(blocks))
	}
	c.blockIDs = map[string]bool{}
	for i, b := range blocks {
		c.block("/blocks/"+strconv.Itoa(i), b)
	}
}

func (c *checker) block(ptr string, v any) {
	b, ok := v.(map[string]any)
	if !ok {
		c.add(ptr, "must be a block object")
		return
	}
	c.blockID(ptr, b)

	typ, _ := b["type"].(string)
	switch typ {
	case "section":
		c.section(ptr, b)
	case "header":
		c.textObject(ptr+"/text", b["text"], maxHeaderText, true)
	case "context":
		c.context(ptr, b)
	case "actions":
		c.actions(ptr, b)
	case "image":
		c.image(ptr, b)
	case "markdown":
		c.markdown(ptr, b)
	case "divider", "rich_text", "input", "file", "video":
		// TODO(slacksim): these are accepted without checking their
		// contents; the bot does not send them.
	default:
		c.add(ptr+"/type", "unknown block type %q", typ)
	}
}

// blockID checks the optional block_id: at most 255 characters and unique
// within the message.
func (c *checker) blockID(ptr string, b map[string]any) {
	v, ok := b["block_id"]
	if !ok {
		return
	}
	id, ok := v.(string)
	if !ok || id == "" {
		c.add(ptr+"/block_id", "must be a non-empty string")
		return
	}
	c.maxLen(ptr+"/block_id", id, maxBlockID)
	if c.blockIDs[id] {
		c.add(ptr+"/block_id", "duplicate block_id %q", id)
	}
	c.blockIDs[id] = true
}

func (c *checker) section(ptr string, b map[string]any) {
	text, hasText := b["text"]
	fields, hasFields := b["fields"]
	if !hasText && !hasFields {
		c.add(ptr, "a section must have text or fields")
	}
	if hasText {
		c.textObject(ptr+"/text", text, maxSectionText, false)
	}
	if hasFields {
		c.fields(ptr+"/fields", fields)
	}
	if acc, ok := b["accessory"]; ok {
		c.element(ptr+"/accessory", acc, map[string]bool{})
	}
}

func (c *checker) fields(ptr string, v any) {
	list, ok := v.([]any)
	if !ok {
		c.add(ptr, "must be an array of text objects")
		return
	}
	if len(list) == 0 {
		c.add(ptr, "must not be empty")
	}
	if len(list) > maxFields {
		c.add(ptr, "must have at most %d fields, has %d", maxFields, len(list))
	}
	for i, f := range list {
		c.textObject(ptr+"/"+strconv.Itoa(i), f, maxFieldText, false)
	}
}

func (c *checker) context(ptr string, b map[string]any) {
	list, ok := b["elements"].([]any)
	if !ok || len(list) == 0 {
		c.add(ptr+"/elements", "must be a non-empty array")
		return
	}
	if len(list) > maxContextElems {
		c.add(ptr+"/elements", "must have at most %d elements, has %d",
			maxContextElems, len(list))
	}
	for i, e := range list {
		p := ptr + "/elements/" + strconv.Itoa(i)
		if m, ok := e.(map[string]any); ok && m["type"] == "image" {
			c.altText(p, m)
			continue
		}
		c.textObject(p, e, maxSectionText, false)
	}
}

func (c *checker) actions(ptr string, b map[string]any) {
	list, ok := b["elements"].([]any)
	if !ok || len(list) == 0 {
		c.add(ptr+"/elements", "must be a non-empty array")
		return
	}
	if len(list) > maxActionsElems {
		c.add(ptr+"/elements", "must have at most %d elements, has %d",
			maxActionsElems, len(list))
	}
	actionIDs := map[string]bool{}
	for i, e := range list {
		c.element(ptr+"/elements/"+strconv.Itoa(i), e, actionIDs)
	}
}

func (c *checker) image(ptr string, b map[string]any) {
	_, hasURL := b["image_url"]
	_, hasFile := b["slack_file"]
	if !hasURL && !hasFile {
		c.add(ptr, "an image needs image_url or slack_file")
	}
	c.altText(ptr, b)
}

func (c *checker) altText(ptr string, m map[string]any) {
	alt, _ := m["alt_text"].(string)
	if alt == "" {
		c.add(ptr+"/alt_text", "must be a non-empty string")
		return
	}
	c.maxLen(ptr+"/alt_text", alt, maxAltText)
}

func (c *checker) markdown(ptr string, b map[string]any) {
	text, _ := b["text"].(string)
	if text == "" {
		c.add(ptr+"/text", "must be a non-empty string")
		return
	}
	c.maxLen(ptr+"/text", text, maxMarkdownBlock)
}

// interactive element types that Slack accepts in an actions block or as
// a section accessory. Only buttons are checked in depth: they are what
// the bot sends.
var elementTypes = map[string]bool{
	"button": true, "checkboxes": true, "datepicker": true,
	"datetimepicker": true, "timepicker": true, "image": true,
	"overflow": true, "radio_buttons": true, "static_select": true,
	"external_select": true, "users_select": true,
	"conversations_select": true, "channels_select": true,
	"multi_static_select": true, "multi_external_select": true,
	"multi_users_select": true, "multi_conversations_select": true,
	"multi_channels_select": true, "workflow_button": true,
}

// element checks an interactive element; actionIDs holds the action_ids
// already seen in the same block, where they must be unique.
func (c *checker) element(ptr string, v any, actionIDs map[string]bool) {
	e, ok := v.(map[string]any)
	if !ok {
		c.add(ptr, "must be an element object")
		return
	}
	typ, _ := e["type"].(string)
	if !elementTypes[typ] {
		c.add(ptr+"/type", "unknown element type %q", typ)
		return
	}
	c.actionID(ptr, e, actionIDs)
	switch typ {
	case "button":
		c.button(ptr, e)
	case "image":
		c.altText(ptr, e)
	}
}

func (c *checker) actionID(ptr string, e map[string]any, seen map[string]bool) {
	v, ok := e["action_id"]
	if !ok {
		return // Slack makes one up
	}
	id, ok := v.(string)
	if !ok || id == "" {
		c.add(ptr+"/action_id", "must be a non-empty string")
		return
	}
	c.maxLen(ptr+"/action_id", id, maxActionID)
	if seen[id] {
		c.add(ptr+"/action_id", "duplicate action_id %q in one block", id)
	}
	seen[id] = true
}

func (c *checker) button(ptr string, e map[string]any) {
	c.textObject(ptr+"/text", e["text"], maxButtonText, true)
	c.optString(ptr+"/value", e, "value", maxButtonValue)
	c.optString(ptr+"/url", e, "url", maxButtonURL)
	c.style(ptr+"/style", e)
	if conf, ok := e["confirm"]; ok {
		c.confirm(ptr+"/confirm", conf)
	}
}

// confirm checks a confirmation dialog. Slack's reference lists deny as
// required even though slack-go marks it omitempty.
func (c *checker) confirm(ptr string, v any) {
	d, ok := v.(map[string]any)
	if !ok {
		c.add(ptr, "must be a confirmation dialog object")
		return
	}
	c.textObject(ptr+"/title", d["title"], maxConfirmTitle, true)
	c.textObject(ptr+"/text", d["text"], maxConfirmText, true)
	c.textObject(ptr+"/confirm", d["confirm"], maxConfirmButton, true)
	c.textObject(ptr+"/deny", d["deny"], maxConfirmButton, true)
	c.style(ptr+"/style", d)
}

// style allows the two named styles; leaving it out gives the default.
func (c *checker) style(ptr string, m map[string]any) {
	v, ok := m["style"]
	if !ok {
		return
	}
	if s, _ := v.(string); s != "primary" && s != "danger" {
		c.add(ptr, "must be primary or danger, is %v", v)
	}
}

func (c *checker) optString(ptr string, m map[string]any, key string, max int) {
	v, ok := m[key]
	if !ok {
		return
	}
	s, ok := v.(string)
	if !ok {
		c.add(ptr, "must be a string")
		return
	}
	c.maxLen(ptr, s, max)
}

// textObject checks a composition text object: a plain_text or mrkdwn
// object whose text has 1 to max characters.
func (c *checker) textObject(ptr string, v any, max int, plainOnly bool) {
	if v == nil {
		c.add(ptr, "must be present")
		return
	}
	t, ok := v.(map[string]any)
	if !ok {
		c.add(ptr, "must be a text object")
		return
	}
	switch typ, _ := t["type"].(string); {
	case typ == "plain_text":
	case typ == "mrkdwn" && !plainOnly:
	case plainOnly:
		c.add(ptr+"/type", "must be plain_text, is %q", typ)
	default:
		c.add(ptr+"/type", "must be plain_text or mrkdwn, is %q", typ)
	}
	s, ok := t["text"].(string)
	if !ok || s == "" {
		c.add(ptr+"/text", "must be a non-empty string")
		return
	}
	c.maxLen(ptr+"/text", s, max)
}

// maxLen counts characters as code points.
// TODO(slacksim): Slack's own counting of emoji and combining marks is
// not documented; code points are the closest published reading.
func (c *checker) maxLen(ptr, s string, max int) {
	if n := utf8.RuneCountInString(s); n > max {
		c.add(ptr, "must be at most %d characters, has %d", max, n)
	}
}
