package roomclient

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// Whatever holds a token or a key prints as a summary without it, for
// every verb and through slog. A String method is not enough: for %d, or
// %x of a pointer, fmt prints a struct's fields, and it cannot call the
// methods of unexported fields, so each holder formats itself.

// formatRedacted writes s, the redacted form of a value, whatever verb
// the value was printed with.
func formatRedacted(f fmt.State, verb rune, s string) {
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	io.WriteString(f, s)
}

// Format prints a Config as String does, for every verb.
func (cfg Config) Format(f fmt.State, verb rune) { formatRedacted(f, verb, cfg.String()) }

// String shows a Client by its room base and kind of credentials.
func (c *Client) String() string {
	if c == nil {
		return "<nil>"
	}
	return fmt.Sprintf("roomclient.Client{URL: %q, Auth: %s}", c.cfg.URL, c.cfg.authKind())
}

// Format prints a Client as String does, for every verb.
func (c *Client) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String()) }

// LogValue shows a Client's configuration without its token or key.
func (c *Client) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("<nil>")
	}
	return c.cfg.LogValue()
}

func (k apiKey) String() string { return "API key " + k.kid + " (secret redacted)" }

func (k apiKey) Format(f fmt.State, verb rune) { formatRedacted(f, verb, k.String()) }

func (k apiKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

func (staticToken) String() string { return "token (redacted)" }

func (t staticToken) Format(f fmt.State, verb rune) { formatRedacted(f, verb, t.String()) }

func (t staticToken) LogValue() slog.Value { return slog.StringValue(t.String()) }

// String shows a minter by its key, not its secret nor the tokens it
// keeps.
func (m *minter) String() string { return "tokens for " + m.name + " from " + m.key.String() }

func (m *minter) Format(f fmt.State, verb rune) { formatRedacted(f, verb, m.String()) }

func (m *minter) LogValue() slog.Value { return slog.StringValue(m.String()) }
