package commands

import (
	"hash/fnv"
	"strconv"

	"github.com/slack-go/slack"
)

// A Message is one Slack message: blocks, and the text Slack shows in
// notifications and to screen readers. Text is always set, and escaped
// already: post it with slack.MsgOptionText(m.Text, false). Data in Text
// cannot make a mention or a channel link, however Slack parses it (see
// the package doc).
type Message struct {
	Text   string
	Blocks []slack.Block
}

// MaxMessageBytes bounds the JSON of any rendered message, {"text":…,
// "blocks":[…]} as encoding/json writes it, whatever the data. It leaves
// room for the envelope around a Socket Mode reply, which Slack drops
// silently at 20 KB.
const MaxMessageBytes = 16 << 10

// Action ids of the buttons, which the bot dispatches clicks on.
const (
	// ActionRestartAsk asks for a confirmation card; its value is an
	// ask value (EncodeAsk).
	ActionRestartAsk = "rs.restart.ask"

	// ActionConfirm restarts; its value is the confirmation token the bot
	// passed in Confirmation.Token.
	ActionConfirm = "rs.restart.confirm"

	// ActionCancel cancels a confirmation card; same value as
	// ActionConfirm.
	ActionCancel = "rs.restart.cancel"

	// ActionPage starts the action ids of the Previous and Next buttons
	// of a list, which show another page. Slack wants action ids unique
	// within a block, so the two buttons are ActionPagePrev and
	// ActionPageNext; both carry a page value (EncodePage) naming the
	// page to show, so a dispatcher can match the prefix and read the
	// value.
	ActionPage     = "rs.list.page"
	ActionPagePrev = ActionPage + ".prev"
	ActionPageNext = ActionPage + ".next"
)

// Slack's limits that rendering relies on.
const (
	maxSection    = 3000
	maxField      = 2000
	maxHeader     = 150
	maxButtonText = 75
	maxValue      = 2000
	maxTitle      = 100
	maxDialogText = 300
)

func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, true)
}

func plainText(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, text, false, false)
}

func section(id, text string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(text), nil, nil,
		slack.SectionBlockOptionBlockID(id))
}

func header(id, text string) *slack.HeaderBlock {
	return slack.NewHeaderBlock(plainText(text),
		slack.HeaderBlockOptionBlockID(id))
}

func note(id string, texts ...string) *slack.ContextBlock {
	elems := make([]slack.MixedElement, len(texts))
	for i, t := range texts {
		elems[i] = mrkdwn(t)
	}
	return slack.NewContextBlock(id, elems...)
}

func button(action, value, label string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(action, value, plainText(label))
}

// withButton puts b at the right of a section.
func withButton(s *slack.SectionBlock, b *slack.ButtonBlockElement) *slack.SectionBlock {
	if b != nil {
		s.Accessory = slack.NewAccessory(b)
	}
	return s
}

// versionOf names one version of a message that is updated in place, for
// its block ids: Slack wants fresh ids when a message is updated, and the
// same texts get the same name, so rendering stays a pure function.
func versionOf(texts ...string) string {
	h := fnv.New32a()
	for _, t := range texts {
		h.Write([]byte(t))
		h.Write([]byte{0})
	}
	return strconv.FormatUint(uint64(h.Sum32()), 36)
}

// simple is a message of one section, for short answers.
func simple(id, text, fallback string) Message {
	return Message{
		Text:   fallback,
		Blocks: []slack.Block{section(id, text)},
	}
}
