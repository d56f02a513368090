package roomclient

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// A scanner reads a JSON text by recursive descent, for the answers of a
// room. A list answer is the one large thing a room sends, and reading it
// with encoding/json cost its reflection, a validity pass before the
// decoding pass, and the specs, which are JSON in JSON strings, read
// twice more. The scanner reads each byte once and hands the caller each
// value as it comes, so the caller keeps only what a Service shows.
//
// It takes what encoding/json takes and refuses what it refuses: the same
// grammar, the same string rules (control characters refused, invalid
// UTF-8 and lone surrogates read as U+FFFD), keys matched exactly or else
// case-insensitively, and a value of an unexpected type skipped rather
// than failing the answer.
//
// One difference, for a key given twice in one object. A number or string
// is the last one given, and an object given twice is merged, the second
// setting what it holds over the first, both as with encoding/json. But
// an array given twice is the second one alone, where encoding/json
// decodes the second array's elements into those the first left, so that
// what only the first array's elements set survives. Matching that would
// mean keeping each first array for a second that never comes: rooms
// write their JSON with serializers that cannot repeat a key, and RFC 8259
// leaves the meaning of a repeated key to the reader.
type scanner struct {
	b     []byte
	i     int
	err   error // the first syntax error; every read after it does nothing
	depth int

	// Strings are copied into one growing buffer and handed out as
	// slices of it: a list of a thousand services makes a few
	// allocations for its strings rather than thousands.
	strs *strings.Builder
	tmp  []byte // a key or an escaped string being decoded
}

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

func newScanner(b []byte, strs *strings.Builder) *scanner {
	return &scanner{b: b, strs: strs}
}

// A syntaxError is a JSON text that encoding/json would refuse too.
type syntaxError struct {
	msg    string
	offset int
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("%s at offset %d", e.msg, e.offset)
}

func (s *scanner) fail(msg string) {
	if s.err == nil {
		s.err = &syntaxError{msg: msg, offset: s.i}
	}
	s.i = len(s.b)
}

func (s *scanner) failAt(c byte, context string) {
	if s.i >= len(s.b) {
		s.fail("unexpected end of JSON input")
		return
	}
	s.fail(fmt.Sprintf("invalid character %q %s", c, context))
}

// ws skips whitespace and returns the next byte, or 0 at the end.
func (s *scanner) ws() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// end checks that nothing but whitespace follows the top-level value.
func (s *scanner) end() error {
	if c := s.ws(); s.err == nil && s.i < len(s.b) {
		s.failAt(c, "after top-level value")
	}
	return s.err
}

// null reads a null if one comes next.
func (s *scanner) null() bool {
	if s.ws() != 'n' || s.err != nil {
		return false
	}
	s.literal("null")
	return true
}

// object reads an object, calling field with each key and the scanner
// at its value; field reads the value and reports true, or reports false
// for a key it does not know. An unknown key is tried again folded, as
// encoding/json matches keys, and then its value is skipped. When the
// value is not an object, it is skipped and object reports false.
func (s *scanner) object(field func(key []byte) bool) bool {
	if c := s.ws(); c != '{' || s.err != nil {
		s.skip()
		return false
	}
	if !s.enter() {
		return false
	}
	if s.ws() == '}' {
		s.i++
		s.depth--
		return true
	}
	for s.err == nil {
		key := s.key()
		if c := s.ws(); c != ':' {
			s.failAt(c, "after object key")
			return false
		}
		s.i++
		if !field(key) {
			if folded, ok := fold(key); !ok || !field([]byte(folded)) {
				s.skip()
			}
		}
		switch c := s.ws(); c {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return s.err == nil
		default:
			s.failAt(c, "after object key:value pair")
		}
	}
	return false
}

// array reads an array, calling elem with the scanner at each element;
// elem must read it. When the value is not an array, it is skipped and
// array reports false.
func (s *scanner) array(elem func()) bool {
	if c := s.ws(); c != '[' || s.err != nil {
		s.skip()
		return false
	}
	if !s.enter() {
		return false
	}
	if s.ws() == ']' {
		s.i++
		s.depth--
		return true
	}
	for s.err == nil {
		elem()
		switch c := s.ws(); c {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return s.err == nil
		default:
			s.failAt(c, "after array element")
		}
	}
	return false
}

// enter takes the opening bracket of an object or array.
func (s *scanner) enter() bool {
	s.i++
	s.depth++
	if s.depth > maxDepth {
		s.fail("exceeded max depth")
		return false
	}
	return true
}

// str reads a string. For any other value, null included, it skips the
// value and reports false: encoding/json leaves a string field as it was
// then.
func (s *scanner) str() (string, bool) {
	if s.ws() != '"' || s.err != nil {
		s.skip()
		return "", false
	}
	raw, plain := s.stringBytes()
	if s.err != nil {
		return "", false
	}
	start := s.strs.Len()
	if plain {
		s.strs.Write(raw)
	} else {
		s.strs.Write(s.unescape(raw))
	}
	return s.strs.String()[start:], true
}

// key reads an object key. It is valid until the next key; callers
// compare it as switch string(key), which copies nothing.
func (s *scanner) key() []byte {
	if c := s.ws(); c != '"' {
		s.failAt(c, "looking for beginning of object key string")
		return nil
	}
	raw, plain := s.stringBytes()
	if plain {
		return raw
	}
	return s.unescape(raw)
}

// stringBytes reads a string's bytes between its quotes, checking its
// escapes; plain reports that it needs no decoding: no escapes, and only
// valid UTF-8.
func (s *scanner) stringBytes() (raw []byte, plain bool) {
	s.i++
	start, plain := s.i, true
	for s.i < len(s.b) {
		// Most bytes of a list are plain ASCII inside strings.
		for s.i < len(s.b) && !special[s.b[s.i]] {
			s.i++
		}
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], plain
		case c == '\\':
			plain = false
			s.escape()
		case c < 0x20:
			s.failAt(c, "in string literal")
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				plain = false
			}
			s.i += n
		}
	}
	s.fail("unexpected end of JSON input")
	return nil, false
}

// special marks the bytes that end a string's plain run: the quote, the
// backslash, control characters and the bytes of non-ASCII runes.
var special = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf
	}
	return t
}()

// escape checks the escape at s.i and moves past it.
func (s *scanner) escape() {
	s.i++
	if s.i >= len(s.b) {
		s.fail("unexpected end of JSON input")
		return
	}
	switch c := s.b[s.i]; c {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i++
	case 'u':
		s.i++
		for range 4 {
			if s.i >= len(s.b) || !isHex(s.b[s.i]) {
				s.failAt(s.peekByte(), "in \\u hexadecimal character escape")
				return
			}
			s.i++
		}
	default:
		s.failAt(c, "in string escape code")
	}
}

func (s *scanner) peekByte() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unescape decodes a checked string's bytes into s.tmp, as encoding/json
// does: bad UTF-8 and lone surrogates become U+FFFD.
func (s *scanner) unescape(raw []byte) []byte {
	out := s.tmp[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			var r rune
			r, i = unescapeAt(raw, i)
			out = utf8.AppendRune(out, r)
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, n := utf8.DecodeRune(raw[i:])
			out = utf8.AppendRune(out, r)
			i += n
		}
	}
	s.tmp = out
	return out
}

// unescapeAt decodes the checked escape at raw[i] and returns the rune
// and the index past it.
func unescapeAt(raw []byte, i int) (rune, int) {
	switch raw[i+1] {
	case 'b':
		return '\b', i + 2
	case 'f':
		return '\f', i + 2
	case 'n':
		return '\n', i + 2
	case 'r':
		return '\r', i + 2
	case 't':
		return '\t', i + 2
	case 'u':
		r := hexRune(raw[i+2 : i+6])
		if !utf16.IsSurrogate(r) {
			return r, i + 6
		}
		if i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
			if d := utf16.DecodeRune(r, hexRune(raw[i+8:i+12])); d != unicode.ReplacementChar {
				return d, i + 12
			}
		}
		return unicode.ReplacementChar, i + 6
	}
	return rune(raw[i+1]), i + 2
}

func hexRune(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// raw reads any value and returns its bytes, for the leaf readers that
// take a number in several forms.
func (s *scanner) raw() []byte {
	s.ws()
	start := s.i
	s.skip()
	if s.err != nil {
		return nil
	}
	return s.b[start:s.i]
}

// boolean reads true or false; for anything else it skips the value and
// reports false.
func (s *scanner) boolean() (v, ok bool) {
	switch s.ws() {
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	}
	s.skip()
	return false, false
}

func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	s.fail("invalid character in literal " + word)
	return false
}

// skip reads any value and drops it, checking its syntax all the same.
func (s *scanner) skip() {
	switch c := s.ws(); {
	case s.err != nil:
	case c == '"':
		s.stringBytes()
	case c == '{':
		s.object(func([]byte) bool { s.skip(); return true })
	case c == '[':
		s.array(s.skip)
	case c == '-' || '0' <= c && c <= '9':
		s.number()
	case c == 't':
		s.literal("true")
	case c == 'f':
		s.literal("false")
	case c == 'n':
		s.literal("null")
	default:
		s.failAt(c, "looking for beginning of value")
	}
}

// number checks a number's grammar and moves past it.
func (s *scanner) number() {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		s.failAt(s.peekByte(), "in numeric literal")
		return
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			s.failAt(s.peekByte(), "after decimal point in numeric literal")
			return
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			s.failAt(s.peekByte(), "in exponent of numeric literal")
		}
	}
}

func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// fold returns key as encoding/json compares keys that do not match
// exactly: each rune folded to the smallest of its case-folding set, as
// bytes.EqualFold folds, and ASCII letters then to lower case, the case
// of the names this package looks for. So "ſ" and the Kelvin sign match
// "s" and "k", while the dotted and dotless i match nothing but
// themselves. ok is false when folding changes nothing.
func fold(key []byte) (string, bool) {
	if !needsFold(key) {
		return "", false
	}
	var b strings.Builder
	for _, r := range string(key) {
		r = smallestFold(r)
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	folded := b.String()
	return folded, folded != string(key)
}

// smallestFold is the smallest rune that folds to the same as r.
func smallestFold(r rune) rune {
	for {
		next := unicode.SimpleFold(r)
		if next <= r {
			return next
		}
		r = next
	}
}

// needsFold reports whether key has an upper-case ASCII letter or a
// non-ASCII byte. Rooms send lower-case keys, and the unknown ones among
// them ("version", "kind") come in every spec, so they must not cost an
// allocation each.
func needsFold(key []byte) bool {
	for i := 0; i < len(key); i++ {
		if c := key[i]; 'A' <= c && c <= 'Z' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}
