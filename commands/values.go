package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrBadValue reports a button value that this package did not write, or
// wrote in a form it no longer reads. Buttons live on in old messages, so
// the bot should answer plainly, not as an internal error.
var ErrBadValue = errors.New("commands: malformed button value")

// An Ask is what an ActionRestartAsk button carries: the service whose
// restart the clicker wants to confirm. The bot acts on ID; Name is only
// what the list showed, and may be empty.
type Ask struct {
	Room string `json:"r"`
	ID   string `json:"i"`
	Name string `json:"n,omitempty"`
}

// A Page is what an ActionPage button carries: which page of which
// room's list to show. Pages count from 1.
type Page struct {
	Room string `json:"r"`
	Page int    `json:"p"`
}

// maxPage bounds page numbers in button values: no room has that many
// services, so a larger number is not ours.
const maxPage = 100000

// maxAskCost bounds an ask value's share of a message that carries many
// of them, a list page or the candidates of a name, so that ten leave
// room for the rest. It holds a room of MaxName characters of any
// alphabet (3 bytes each at most) and an id as long as a UUID. A room
// whose name costs more, being made of emoji or of characters that JSON
// escapes, gets no buttons in such a message, which says that the
// room's name is why (noAskNote). A status, with one button, allows a
// value as long as any room and id ValidName accepts make it.
const maxAskCost = 480

// usualID stands for a service id when a room's share of a value is
// judged.
const usualID = "00000000-0000-0000-0000-000000000000"

// EncodeAsk writes a as a compact button value, e.g.
// {"r":"myroom","i":"svc-1","n":"web"}, for a message of many buttons.
// Room and ID must satisfy ValidName. Name is left out when it is not
// printable text of at most MaxName characters, or when it would make
// the value too long.
func EncodeAsk(a Ask) (string, error) { return encodeAsk(a, maxAskCost) }

// encodeAsk is EncodeAsk for a value that may cost budget.
func encodeAsk(a Ask, budget int) (string, error) {
	if err := a.valid(); err != nil {
		return "", err
	}
	if !validLabel(a.Name) {
		a.Name = ""
	}
	v := encode(a)
	if valueCost(v) > budget && a.Name != "" {
		a.Name = ""
		v = encode(a)
	}
	if valueCost(v) > budget {
		return "", fmt.Errorf("%w: room and id too long for a button",
			ErrBadValue)
	}
	return v, nil
}

// askRoomFits reports whether room leaves space for a usual id in an ask
// value that may cost budget.
func askRoomFits(room string, budget int) bool {
	return valueCost(encode(Ask{Room: room, ID: usualID})) <= budget
}

// DecodeAsk reads a value written by EncodeAsk, and checks it again: the
// room and id satisfy ValidName and the name is printable.
func DecodeAsk(v string) (Ask, error) {
	var a Ask
	if err := decode(v, &a); err != nil {
		return Ask{}, err
	}
	if err := a.valid(); err != nil {
		return Ask{}, err
	}
	if a.Name != "" && !validLabel(a.Name) {
		return Ask{}, fmt.Errorf("%w: bad service name", ErrBadValue)
	}
	return a, nil
}

func (a Ask) valid() error {
	if err := ValidName("room", a.Room); err != nil {
		return fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	if err := ValidName("service id", a.ID); err != nil {
		return fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	return nil
}

// EncodePage writes p as a compact button value, e.g.
// {"r":"myroom","p":2}. The room must satisfy ValidName.
func EncodePage(p Page) (string, error) {
	if err := p.valid(); err != nil {
		return "", err
	}
	return encode(p), nil
}

// DecodePage reads a value written by EncodePage, and checks it again.
func DecodePage(v string) (Page, error) {
	var p Page
	if err := decode(v, &p); err != nil {
		return Page{}, err
	}
	if err := p.valid(); err != nil {
		return Page{}, err
	}
	return p, nil
}

func (p Page) valid() error {
	if err := ValidName("room", p.Room); err != nil {
		return fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	if p.Page < 1 || p.Page > maxPage {
		return fmt.Errorf("%w: page %d", ErrBadValue, p.Page)
	}
	return nil
}

// encode writes v as JSON. encoding/json writes &, < and > in strings as
// \u0026 and so on, so no name in a value can look like Slack markup even
// to a careless reader of the payload.
func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Both value types hold only strings and an int.
		panic(fmt.Sprintf("commands: encoding %T: %v", v, err))
	}
	return string(b)
}

func decode(v string, dst any) error {
	if len(v) > maxValue {
		return fmt.Errorf("%w: %d bytes", ErrBadValue, len(v))
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the value", ErrBadValue)
	}
	return nil
}

// validLabel reports whether s may be carried as a name to show: text of
// at most MaxName characters without control characters. Unlike
// ValidName it allows anything a room may call a service.
func validLabel(s string) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxName {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

// valueCost is the cost of a button value in the message JSON. Values
// are not escaped for Slack, which does not show them.
func valueCost(v string) int { return textCost(v) }
