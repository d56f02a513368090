package roomtest

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
)

// APIKey returns a project API key, "ma-<kid>-<project>-<secret>", that
// holds secret, with random key and project ids. A client minting tokens
// from it passes a Server made WithSecret(secret).
func APIKey(secret string) string {
	return "ma-" + randomID() + "-" + randomID() + "-" + secret
}

// randomID encodes a random UUID's 16 bytes as API keys do: URL-safe
// base64 without padding, with "-" swapped for "." so it holds no dash.
func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return strings.ReplaceAll(base64.RawURLEncoding.EncodeToString(b[:]), "-", ".")
}
