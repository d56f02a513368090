package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// A row is one figure of a table: the bot's, its floor's, and which
// floor that is.
type row struct {
	name  string
	unit  string // "ms", "MB" or "" for counts
	bot   func(runResult) float64
	floor func(runResult) float64 // nil when the figure has no floor
	what  string                  // what the floor is
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
func mb(n int64) float64         { return float64(n) / (1 << 20) }

// rows are the figures every configuration reports.
func rows(conc int, fresh bool) []row {
	rs := []row{
		{"ack p50", "ms", func(r runResult) float64 { return ms(r.Bot.Ack.P50) },
			func(r runResult) float64 { return ms(r.AckFloor.Ack.P50) }, "ack-only client beside it"},
		{"ack p99", "ms", func(r runResult) float64 { return ms(r.Bot.Ack.P99) },
			func(r runResult) float64 { return ms(r.AckFloor.Ack.P99) }, "ack-only client beside it"},
		{"ack max", "ms", func(r runResult) float64 { return ms(r.Bot.Ack.Max) },
			func(r runResult) float64 { return ms(r.AckFloor.Ack.Max) }, "ack-only client beside it"},
		{"reply p50", "ms", func(r runResult) float64 { return ms(r.Bot.Reply.P50) },
			func(r runResult) float64 { return ms(r.Bare.Reply.P50) }, "bare room client list"},
		{"reply p99", "ms", func(r runResult) float64 { return ms(r.Bot.Reply.P99) },
			func(r runResult) float64 { return ms(r.Bare.Reply.P99) }, "bare room client list"},
		{"room's own time p50", "ms", func(r runResult) float64 { return ms(r.Bot.Room.P50) },
			func(r runResult) float64 { return ms(r.Bare.Room.P50) }, "same, under the bare client"},
		{"room calls", "", func(r runResult) float64 { return float64(r.Bot.Room.N) },
			func(r runResult) float64 { return float64(r.Bare.Room.N) }, "bare client's calls"},
	}
	if conc == 1 {
		rs = append(rs,
			row{"overhead p50 (reply − room)", "ms", func(r runResult) float64 { return ms(r.Bot.Overhead.P50) },
				func(r runResult) float64 { return ms(r.Bare.Overhead.P50) }, "bare client (list − room)"},
			row{"overhead p99 (reply − room)", "ms", func(r runResult) float64 { return ms(r.Bot.Overhead.P99) },
				func(r runResult) float64 { return ms(r.Bare.Overhead.P99) }, "bare client (list − room)"})
	}
	if fresh {
		rs = append(rs,
			row{"fresh connection per list p50", "ms", func(r runResult) float64 { return ms(r.Fresh.Reply.P50) },
				func(r runResult) float64 { return ms(r.Bare.Reply.P50) }, "warm bare list (ratio = fresh ÷ warm)"},
			row{"fresh connection per list p99", "ms", func(r runResult) float64 { return ms(r.Fresh.Reply.P99) },
				func(r runResult) float64 { return ms(r.Bare.Reply.P99) }, "warm bare list (ratio = fresh ÷ warm)"},
			row{"fresh ÷ bot reply p50", "", func(r runResult) float64 { return ms(r.Fresh.Reply.P50) / ms(r.Bot.Reply.P50) },
				nil, ""})
	}
	return append(rs,
		row{"CPU per command", "ms", func(r runResult) float64 { return ms(r.Bot.CPU) },
			func(r runResult) float64 { return ms(r.AckFloor.CPU + r.Bare.CPU) },
			"ack-only client per envelope + bare client per list"},
		row{"this tool's CPU per command", "ms", func(r runResult) float64 { return ms(r.Harness) }, nil, ""},
		row{"RSS idle", "MB", func(r runResult) float64 { return mb(r.Bot.RSSIdle) },
			func(r runResult) float64 { return mb(r.AckFloor.RSSIdle) }, "ack-only client idle"},
		row{"RSS peak (VmHWM)", "MB", func(r runResult) float64 { return mb(r.Bot.HWM) },
			func(r runResult) float64 { return mb(r.Bare.HWM) }, "bare room client's VmHWM"},
		row{"RSS sampled max", "MB", func(r runResult) float64 { return mb(r.Bot.RSSMax) },
			func(r runResult) float64 { return mb(r.AckFloor.RSSMax) }, "ack-only client's sampled max"},
		row{"goroutines idle", "", func(r runResult) float64 { return float64(r.Bot.GorIdle) }, nil, ""},
		row{"goroutines peak (sampled)", "", func(r runResult) float64 { return float64(r.Bot.GorMax) }, nil, ""},
		row{"failed replies", "", func(r runResult) float64 { return float64(r.Bot.Failures) },
			func(r runResult) float64 { return float64(r.Bare.Failures) }, "failed bare lists"},
		row{"Slack violations", "", func(r runResult) float64 { return float64(r.Bot.Extra) },
			func(r runResult) float64 { return float64(r.AckFloor.Extra) }, "ack-only client's"},
	)
}

// table writes the figures of one configuration's runs as Markdown.
func table(w io.Writer, title string, cfg config, runs []runResult, fresh bool) {
	fmt.Fprintf(w, "\n#### %s: %s (%d runs)\n\n", title, cfg, len(runs))
	fmt.Fprintln(w, "| figure | roombot, median (min–max) | floor, median (min–max) | ratio | floor is |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rows(cfg.Conc, fresh) {
		bot := spreadOf(collect(runs, r.bot))
		if r.floor == nil {
			fmt.Fprintf(w, "| %s | %s | — | — | |\n", r.name, fmtSpread(bot, r.unit))
			continue
		}
		floor := spreadOf(collect(runs, r.floor))
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.name,
			fmtSpread(bot, r.unit), fmtSpread(floor, r.unit), ratio(bot, floor), r.what)
	}
}

func collect(runs []runResult, f func(runResult) float64) []float64 {
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = f(r)
	}
	return out
}

func fmtSpread(s spread, unit string) string {
	v := func(x float64) string { return num(x) }
	text := v(s.Med)
	if s.Runs > 1 {
		text += " (" + v(s.Min) + "–" + v(s.Max) + ")"
	}
	if unit != "" {
		text += " " + unit
	}
	return text
}

// num prints three significant figures, which is all the noise allows.
func num(x float64) string {
	switch {
	case x == 0:
		return "0"
	case x >= 100 || x == float64(int64(x)):
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	case x >= 1:
		return fmt.Sprintf("%.2f", x)
	}
	return strings.TrimRight(fmt.Sprintf("%.3f", x), "0")
}

func ratio(bot, floor spread) string {
	if floor.Med == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", bot.Med/floor.Med)
}
