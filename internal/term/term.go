// Package term draws Slack messages for a terminal, the way a person reads
// them in Slack rather than the way they travel: mentions as @U…, links as
// their label, entities decoded, the common emoji as symbols, and buttons
// numbered so that someone at a keyboard can say which one to press.
//
// Buttons are numbered from 1 in the order of the blocks (an actions
// block's elements, a section's accessory), which is the order
// slacksim.Server.Buttons lists them in.
package term

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// A View is a message laid out for a terminal.
type View struct {
	Lines   []string // without indentation or line ends
	Buttons []Button // button n is Buttons[n-1]
}

// A Button is one button of a message.
type Button struct {
	Label  string
	Dialog *Dialog // nil when Slack sends the click at once
}

// A Dialog is the confirmation Slack shows before it sends a click.
type Dialog struct {
	Title, Text   string
	Confirm, Deny string // button labels; Slack says Yes / No when unset
}

// String is the view with each line indented by two spaces, ready to
// print under a heading.
func (v View) String() string {
	var b strings.Builder
	for _, l := range v.Lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// block is the part of a Block Kit block that a terminal can show.
type block struct {
	Type      string       `json:"type"`
	Text      *textObject  `json:"text"`
	Fields    []textObject `json:"fields"`
	Accessory *element     `json:"accessory"`
	Elements  []element    `json:"elements"`
	AltText   string       `json:"alt_text"`
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// UnmarshalJSON reads a text object, or the bare string that a markdown
// block or a context element (a text object itself) holds as its text.
func (t *textObject) UnmarshalJSON(data []byte) error {
	if json.Unmarshal(data, &t.Text) == nil {
		return nil
	}
	type object textObject
	return json.Unmarshal(data, (*object)(t))
}

// An element is an element of an actions or context block, or an
// accessory.
type element struct {
	Type    string      `json:"type"`
	Text    *textObject `json:"text"`
	Confirm *struct {
		Title   *textObject `json:"title"`
		Text    *textObject `json:"text"`
		Confirm *textObject `json:"confirm"`
		Deny    *textObject `json:"deny"`
	} `json:"confirm"`
}

// Draw lays out a message from its fallback text and its blocks, a JSON
// array. Without blocks, or when they do not parse, the text is shown.
func Draw(text string, blocks json.RawMessage) View {
	var list []json.RawMessage
	if len(blocks) == 0 || json.Unmarshal(blocks, &list) != nil || len(list) == 0 {
		return View{Lines: strings.Split(Mrkdwn(text), "\n")}
	}
	var v View
	for _, raw := range list {
		var b block
		if err := json.Unmarshal(raw, &b); err != nil {
			v.Lines = append(v.Lines, "[a block this terminal cannot show]")
			continue
		}
		v.block(b)
	}
	return v
}

func (v *View) block(b block) {
	switch b.Type {
	case "header":
		h := b.Text.show()
		v.Lines = append(v.Lines, h, strings.Repeat("═", utf8.RuneCountInString(h)))
	case "section":
		v.section(b)
	case "context":
		v.context(b)
	case "actions":
		var labels []string
		for _, e := range b.Elements {
			if l, ok := v.button(e); ok {
				labels = append(labels, l)
			}
		}
		v.Lines = append(v.Lines, strings.Join(labels, " "))
	case "markdown":
		// Standard Markdown, which reads well enough as it is.
		v.Lines = append(v.Lines, strings.Split(b.Text.Text, "\n")...)
	case "divider":
		v.Lines = append(v.Lines, strings.Repeat("─", 24))
	case "image":
		v.Lines = append(v.Lines, "[image: "+b.AltText+"]")
	default:
		v.Lines = append(v.Lines, "["+b.Type+" block]")
	}
}

// section shows the text with the accessory's button at the end of its
// first line, where Slack puts it, then the fields one to a line. Lines
// after the first are indented, so that sections stand apart as they do
// in Slack.
func (v *View) section(b block) {
	lines := strings.Split(b.Text.show(), "\n")
	for i := 1; i < len(lines); i++ {
		lines[i] = "   " + lines[i]
	}
	if b.Accessory != nil {
		if l, ok := v.button(*b.Accessory); ok {
			lines[0] += "   " + l
		}
	}
	if lines[0] != "" || len(lines) > 1 {
		v.Lines = append(v.Lines, lines...)
	}
	for _, f := range b.Fields {
		v.Lines = append(v.Lines, "• "+field(f.show()))
	}
}

// field joins a field's label line to its value: "*Restarts*\n2" reads
// as "Restarts: 2". The bold markers are gone by now.
func field(s string) string {
	label, value, ok := strings.Cut(s, "\n")
	if !ok {
		return s
	}
	return label + ": " + strings.ReplaceAll(value, "\n", " ")
}

func (v *View) context(b block) {
	var parts []string
	for _, e := range b.Elements {
		switch e.Type {
		case "mrkdwn", "plain_text":
			if e.Text != nil {
				t := textObject{Type: e.Type, Text: e.Text.Text}
				parts = append(parts, t.show())
			}
		case "image":
			parts = append(parts, "[image]")
		}
	}
	v.Lines = append(v.Lines, "("+strings.Join(parts, " · ")+")")
}

// button numbers a button element and returns its label, [n Text].
func (v *View) button(el element) (string, bool) {
	if el.Type != "button" {
		return "", false
	}
	btn := Button{Label: el.Text.show()}
	if c := el.Confirm; c != nil {
		btn.Dialog = &Dialog{
			Title: c.Title.show(), Text: c.Text.show(),
			Confirm: c.Confirm.show(), Deny: c.Deny.show(),
		}
	}
	v.Buttons = append(v.Buttons, btn)
	return fmt.Sprintf("[%d %s]", len(v.Buttons), btn.Label), true
}

// show is the text as a reader sees it: mrkdwn is interpreted, and plain
// text has only its entities decoded. A nil object shows as "".
func (t *textObject) show() string {
	switch {
	case t == nil:
		return ""
	case t.Type == "mrkdwn":
		return Mrkdwn(t.Text)
	}
	return unescape(t.Text)
}
