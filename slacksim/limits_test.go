package slacksim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// msgWith returns a message with the fallback text and the given blocks.
func msgWith(blocks ...string) string {
	return `{"text":"fallback","blocks":[` + strings.Join(blocks, ",") + `]}`
}

func section(text string) string {
	return `{"type":"section","text":{"type":"mrkdwn","text":` + strconv.Quote(text) + `}}`
}

func plain(s string) string {
	return `{"type":"plain_text","text":` + strconv.Quote(s) + `}`
}

func mrkdwn(s string) string {
	return `{"type":"mrkdwn","text":` + strconv.Quote(s) + `}`
}

func fieldsSection(n, size int) string {
	fs := make([]string, n)
	for i := range fs {
		fs[i] = mrkdwn(strings.Repeat("f", size))
	}
	return `{"type":"section","fields":[` + strings.Join(fs, ",") + `]}`
}

func actions(blockID string, elems ...string) string {
	id := ""
	if blockID != "" {
		id = `"block_id":` + strconv.Quote(blockID) + `,`
	}
	return `{"type":"actions",` + id + `"elements":[` + strings.Join(elems, ",") + `]}`
}

// button builds a button; extra is appended verbatim inside the object.
func button(actionID, label, extra string) string {
	b := `{"type":"button","action_id":` + strconv.Quote(actionID) +
		`,"text":` + plain(label)
	if extra != "" {
		b += "," + extra
	}
	return b + "}"
}

func confirmDialog(title, text, yes, no string) string {
	d := `"confirm":{"title":` + plain(title) + `,"text":` + plain(text) +
		`,"confirm":` + plain(yes)
	if no != "" {
		d += `,"deny":` + plain(no)
	}
	return d + "}"
}

func contextBlock(n int) string {
	es := make([]string, n)
	for i := range es {
		es[i] = mrkdwn("c")
	}
	return `{"type":"context","elements":[` + strings.Join(es, ",") + `]}`
}

func buttons(n int) []string {
	bs := make([]string, n)
	for i := range bs {
		bs[i] = button("a"+strconv.Itoa(i), "B", "")
	}
	return bs
}

func repeatBlocks(n int) []string {
	bs := make([]string, n)
	for i := range bs {
		bs[i] = `{"type":"divider"}`
	}
	return bs
}

func TestCheckMessage(t *testing.T) {
	long := strings.Repeat
	tests := []struct {
		name string
		msg  string
		want []string // pointers of the expected violations, in order
	}{
		{"plain text only", `{"text":"hi"}`, nil},
		{"blocks as JSON string", `{"text":"hi","blocks":` +
			strconv.Quote("["+section("x")+"]") + `}`, nil},
		{"blocks string not JSON", `{"text":"hi","blocks":"[{"}`, []string{"/blocks"}},
		{"not an object", `[1]`, []string{""}},

		{"50 blocks", msgWith(repeatBlocks(50)...), nil},
		{"51 blocks", msgWith(repeatBlocks(51)...), []string{"/blocks"}},

		{"text missing", `{"blocks":[` + section("x") + `]}`, []string{"/text"}},
		{"text empty", `{"text":""}`, []string{"/text"}},
		{"text 40000", `{"text":"` + long("t", 40000) + `"}`, nil},
		{"text 40001", `{"text":"` + long("t", 40001) + `"}`, []string{"/text"}},

		{"section 3000", msgWith(section(long("s", 3000))), nil},
		{"section 3001", msgWith(section(long("s", 3001))), []string{"/blocks/0/text/text"}},
		{"section 3000 runes", msgWith(section(long("é", 3000))), nil},
		{"section empty text", msgWith(section("")), []string{"/blocks/0/text/text"}},
		{"section neither text nor fields", msgWith(`{"type":"section"}`), []string{"/blocks/0"}},
		{"section bad text type", msgWith(`{"type":"section","text":{"type":"html","text":"x"}}`),
			[]string{"/blocks/0/text/type"}},

		{"fields 10x2000", msgWith(fieldsSection(10, 2000)), nil},
		{"fields 11", msgWith(fieldsSection(11, 1)), []string{"/blocks/0/fields"}},
		{"field 2001", msgWith(fieldsSection(1, 2001)), []string{"/blocks/0/fields/0/text"}},

		{"header 150", msgWith(`{"type":"header","text":` + plain(long("h", 150)) + `}`), nil},
		{"header 151", msgWith(`{"type":"header","text":` + plain(long("h", 151)) + `}`),
			[]string{"/blocks/0/text/text"}},
		{"header mrkdwn", msgWith(`{"type":"header","text":` + mrkdwn("h") + `}`),
			[]string{"/blocks/0/text/type"}},

		{"context 10", msgWith(contextBlock(10)), nil},
		{"context 11", msgWith(contextBlock(11)), []string{"/blocks/0/elements"}},

		{"actions 25", msgWith(actions("", buttons(25)...)), nil},
		{"actions 26", msgWith(actions("", buttons(26)...)), []string{"/blocks/0/elements"}},
		{"actions empty", msgWith(actions("")), []string{"/blocks/0/elements"}},

		{"block_id 255", msgWith(actions(long("b", 255), buttons(1)...)), nil},
		{"block_id 256", msgWith(actions(long("b", 256), buttons(1)...)), []string{"/blocks/0/block_id"}},
		{"block_id duplicate", msgWith(actions("x", buttons(1)...), actions("x", buttons(1)...)),
			[]string{"/blocks/1/block_id"}},

		{"button label 75", msgWith(actions("", button("a", long("l", 75), ""))), nil},
		{"button label 76", msgWith(actions("", button("a", long("l", 76), ""))),
			[]string{"/blocks/0/elements/0/text/text"}},
		{"button label mrkdwn", msgWith(actions("", `{"type":"button","action_id":"a","text":`+mrkdwn("x")+`}`)),
			[]string{"/blocks/0/elements/0/text/type"}},
		{"button value 2000", msgWith(actions("", button("a", "B", `"value":"`+long("v", 2000)+`"`))), nil},
		{"button value 2001", msgWith(actions("", button("a", "B", `"value":"`+long("v", 2001)+`"`))),
			[]string{"/blocks/0/elements/0/value"}},
		{"action_id 255", msgWith(actions("", button(long("a", 255), "B", ""))), nil},
		{"action_id 256", msgWith(actions("", button(long("a", 256), "B", ""))),
			[]string{"/blocks/0/elements/0/action_id"}},
		{"action_id duplicate in block", msgWith(actions("", button("a", "B", ""), button("a", "C", ""))),
			[]string{"/blocks/0/elements/1/action_id"}},
		{"action_id repeated across blocks", msgWith(actions("", button("a", "B", "")),
			actions("", button("a", "B", ""))), nil},
		{"url 3000", msgWith(actions("", button("a", "B", `"url":"`+long("u", 3000)+`"`))), nil},
		{"url 3001", msgWith(actions("", button("a", "B", `"url":"`+long("u", 3001)+`"`))),
			[]string{"/blocks/0/elements/0/url"}},
		{"style danger", msgWith(actions("", button("a", "B", `"style":"danger"`))), nil},
		{"style red", msgWith(actions("", button("a", "B", `"style":"red"`))),
			[]string{"/blocks/0/elements/0/style"}},
		{"accessory button 76", msgWith(`{"type":"section","text":` + mrkdwn("x") +
			`,"accessory":` + button("a", long("l", 76), "") + `}`),
			[]string{"/blocks/0/accessory/text/text"}},

		{"confirm at limits", msgWith(actions("", button("a", "B",
			confirmDialog(long("t", 100), long("x", 300), long("y", 30), long("n", 30))))), nil},
		{"confirm title 101", msgWith(actions("", button("a", "B",
			confirmDialog(long("t", 101), "x", "y", "n")))),
			[]string{"/blocks/0/elements/0/confirm/title/text"}},
		{"confirm text 301", msgWith(actions("", button("a", "B",
			confirmDialog("t", long("x", 301), "y", "n")))),
			[]string{"/blocks/0/elements/0/confirm/text/text"}},
		{"confirm button 31", msgWith(actions("", button("a", "B",
			confirmDialog("t", "x", long("y", 31), long("n", 31))))),
			[]string{"/blocks/0/elements/0/confirm/confirm/text", "/blocks/0/elements/0/confirm/deny/text"}},
		{"confirm without deny", msgWith(actions("", button("a", "B",
			confirmDialog("t", "x", "y", "")))),
			[]string{"/blocks/0/elements/0/confirm/deny"}},
		{"confirm mrkdwn text", msgWith(actions("", button("a", "B",
			`"confirm":{"title":`+plain("t")+`,"text":`+mrkdwn("x")+`,"confirm":`+plain("y")+`,"deny":`+plain("n")+`}`))),
			[]string{"/blocks/0/elements/0/confirm/text/type"}},

		{"unknown block type", msgWith(`{"type":"carousel"}`), []string{"/blocks/0/type"}},
		{"unknown element type", msgWith(actions("", `{"type":"slider"}`)),
			[]string{"/blocks/0/elements/0/type"}},
		{"image without alt", msgWith(`{"type":"image","image_url":"http://x/i.png"}`),
			[]string{"/blocks/0/alt_text"}},

		{"several at once", `{"blocks":[` + section(long("s", 3001)) + `,` +
			actions("", button("a", long("l", 76), "")) + `]}`,
			[]string{"/text", "/blocks/0/text/text", "/blocks/1/elements/0/text/text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckMessage([]byte(tt.msg))
			var got []string
			for _, le := range LimitErrors(err) {
				got = append(got, le.Pointer)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("CheckMessage pointers = %q, want %q (err: %v)", got, tt.want, err)
			}
		})
	}
}

func TestCheckMessageErrorText(t *testing.T) {
	err := CheckMessage([]byte(msgWith(section(strings.Repeat("s", 3001)))))
	want := "must be at most 3000 characters, has 3001 [json-pointer:/blocks/0/text/text]"
	if err == nil || err.Error() != want {
		t.Errorf("CheckMessage(3001-char section) = %v, want %q", err, want)
	}
}

func TestCheckAck(t *testing.T) {
	frame := func(textLen int) []byte {
		b, _ := json.Marshal(map[string]any{
			"envelope_id": "e1",
			"payload":     map[string]any{"text": strings.Repeat("x", textLen)},
		})
		return b
	}
	overhead := len(frame(0))
	tests := []struct {
		name  string
		frame []byte
		ok    bool
	}{
		{"small", []byte(`{"envelope_id":"e1"}`), true},
		{"one byte under the limit", frame(MaxAckBytes - 1 - overhead), true},
		{"at the limit", frame(MaxAckBytes - overhead), false},
		{"no envelope id", []byte(`{"payload":{}}`), false},
		{"not JSON", []byte(`nope`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAck(tt.frame)
			if (err == nil) != tt.ok {
				t.Errorf("CheckAck(%d bytes) = %v, want ok=%v", len(tt.frame), err, tt.ok)
			}
		})
	}
}
