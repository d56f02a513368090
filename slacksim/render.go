package slacksim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Render draws the message as plain text for a terminal or a test log:
// a heading line, then one line per block. Buttons are numbered from 1
// in the order of Buttons, so button [n] is Click{Button: n-1}.
func (m Message) Render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "── %s in %s", m.TS, m.Channel)
	if m.Ephemeral {
		fmt.Fprintf(&b, " (only visible to %s)", m.VisibleTo)
	}
	if len(m.History) > 0 {
		b.WriteString(" (edited)")
	}
	if m.Deleted {
		b.WriteString(" (deleted)\n")
		return b.String()
	}
	b.WriteString("\n")

	var blocks []map[string]any
	if json.Unmarshal(m.Blocks, &blocks) != nil || len(blocks) == 0 {
		b.WriteString(m.Text + "\n")
		return b.String()
	}
	n := 0
	for _, blk := range blocks {
		renderBlock(&b, blk, &n)
	}
	return b.String()
}

func renderBlock(b *strings.Builder, blk map[string]any, n *int) {
	switch blk["type"] {
	case "header":
		fmt.Fprintf(b, "# %s\n", textOf(blk["text"]))
	case "section":
		if t := textOf(blk["text"]); t != "" {
			b.WriteString(t + "\n")
		}
		fields, _ := blk["fields"].([]any)
		for _, f := range fields {
			fmt.Fprintf(b, "  • %s\n", strings.ReplaceAll(textOf(f), "\n", " — "))
		}
		if btn, ok := asButton(blk["accessory"], ""); ok {
			*n++
			fmt.Fprintf(b, "  %s\n", buttonLabel(btn, *n))
		}
	case "context":
		elems, _ := blk["elements"].([]any)
		var parts []string
		for _, e := range elems {
			parts = append(parts, textOf(e))
		}
		fmt.Fprintf(b, "  (%s)\n", strings.Join(parts, " · "))
	case "actions":
		elems, _ := blk["elements"].([]any)
		var parts []string
		for _, e := range elems {
			if btn, ok := asButton(e, ""); ok {
				*n++
				parts = append(parts, buttonLabel(btn, *n))
			}
		}
		b.WriteString("  " + strings.Join(parts, " ") + "\n")
	case "divider":
		b.WriteString("  ────────\n")
	default:
		fmt.Fprintf(b, "  [%v block]\n", blk["type"])
	}
}

func buttonLabel(btn Button, n int) string {
	label := fmt.Sprintf("[%d %s]", n, btn.Text)
	if btn.Style != "" {
		label = fmt.Sprintf("[%d %s (%s)]", n, btn.Text, btn.Style)
	}
	return label
}

// textOf returns the text of a text object.
func textOf(v any) string {
	t, _ := v.(map[string]any)
	s, _ := t["text"].(string)
	return s
}
