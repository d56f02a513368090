package roomclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// answer is a content header as a room sends it in a __response__. The
// json value is decoded straight into the list shape: services/restart
// ignores it, and services/list saves a copy of its largest field.
type answer struct {
	Type   string    `json:"type"`
	JSON   *listJSON `json:"json"`
	Text   string    `json:"text"`
	Code   looseInt  `json:"code"`
	Method string    `json:"method"`
}

type listJSON struct {
	ServicesJSON  []specElem  `json:"services_json"`
	ServiceStates []stateWire `json:"service_states"`
}

// errorOrNil turns an error content into an *Error.
func (a *answer) errorOrNil() error {
	if a.Type != "error" {
		return nil
	}
	return &Error{Code: Code(a.Code.n), Text: a.Text}
}

// unexpected reports a content that is neither an error nor what the call
// expects. A control content means the call became a stream, which the
// services toolkit never does.
func (a *answer) unexpected() error {
	what := fmt.Sprintf("unexpected %q content", a.Type)
	if a.Type == "control" {
		what = "unexpected streamed answer"
	}
	return &Error{Code: CodeUnexpectedResponse, Text: what}
}

func parseAnswer(header []byte) (*answer, error) {
	var a answer
	if err := json.Unmarshal(header, &a); err != nil && !lenient(err) {
		return nil, &Error{
			Code: CodeUnexpectedResponse,
			Text: "malformed answer: " + err.Error(),
		}
	}
	return &a, nil
}

// lenient reports whether a decode error only concerns a value of an
// unexpected JSON type. encoding/json keeps decoding past such a value, so
// the rest is good; the field stays empty.
func lenient(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// decodeList reads the answer to services/list.
func decodeList(room string, header []byte) (*List, error) {
	a, err := parseAnswer(header)
	if err != nil {
		return nil, err
	}
	if err := a.errorOrNil(); err != nil {
		return nil, err
	}
	if a.Type != "json" || a.JSON == nil {
		return nil, a.unexpected()
	}
	return a.JSON.join(room), nil
}

// join pairs every spec with its state by service id, keeping the room's
// order of specs; states that match no spec become orphans.
func (l *listJSON) join(room string) *List {
	all := make([]State, len(l.ServiceStates))
	states := make(map[string]*State, len(l.ServiceStates))
	for i := range l.ServiceStates {
		all[i] = l.ServiceStates[i].state()
		states[all[i].ServiceID] = &all[i]
	}
	list := &List{Room: room, Services: make([]Service, 0, len(l.ServicesJSON))}
	used := make(map[string]bool, len(l.ServicesJSON))
	for _, e := range l.ServicesJSON {
		s := e.service()
		if st, ok := states[s.ID]; ok && s.ID != "" {
			s.State = st
			used[s.ID] = true
		}
		list.Services = append(list.Services, s)
	}
	for i := range all {
		if !used[all[i].ServiceID] {
			list.Orphans = append(list.Orphans, all[i])
		}
	}
	return list
}

// specElem is one element of services_json: a JSON-encoded spec in a
// string, as every room sends, or the spec itself, which the TS SDK also
// accepts. Only what a Service shows is decoded.
type specElem struct {
	ID       string `json:"id"`
	Enabled  *bool  `json:"enabled"`
	Metadata struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"metadata"`
	Container struct {
		Image string `json:"image"`
	} `json:"container"`
	External struct {
		URL string `json:"url"`
	} `json:"external"`
	Ports []struct {
		Num      portNum `json:"num"`
		Type     string  `json:"type"`
		Liveness string  `json:"liveness"`
	} `json:"ports"`
}

func (e *specElem) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		spec, ok := unquote(b)
		if !ok {
			return errBadSpec
		}
		b = bytes.TrimLeft(spec, " \t\r\n")
	}
	if len(b) == 0 || b[0] != '{' {
		return errBadSpec
	}
	type plain specElem // without this method
	err := json.Unmarshal(b, (*plain)(e))
	if err != nil && !lenient(err) {
		return errBadSpec
	}
	return nil
}

// errBadSpec fails a whole list: a spec that is not a JSON object is a
// room bug worth seeing, where a missing field is only a room's choice.
var errBadSpec = errors.New("a service spec is not a JSON object")

func (e *specElem) service() Service {
	s := Service{
		ID:          e.ID,
		Name:        e.Metadata.Name,
		Description: e.Metadata.Description,
		Image:       e.Container.Image,
		ExternalURL: e.External.URL,
		Enabled:     e.Enabled == nil || *e.Enabled,
	}
	if len(e.Ports) > 0 {
		s.Ports = make([]Port, len(e.Ports))
	}
	for i, p := range e.Ports {
		typ := p.Type
		if typ == "" {
			typ = "http"
		}
		s.Ports[i] = Port{Num: p.Num.String(), Type: typ, Liveness: p.Liveness}
	}
	return s
}

// stateWire is one element of service_states as the room sends it. Only
// leaf values have their own lenient readers: an UnmarshalJSON on a whole
// state would make encoding/json scan each state twice.
type stateWire struct {
	ServiceID          string   `json:"service_id"`
	State              string   `json:"state"`
	ContainerID        string   `json:"container_id"`
	RestartScheduledAt unixTime `json:"restart_scheduled_at"`
	StartedAt          unixTime `json:"started_at"`
	RestartCount       looseInt `json:"restart_count"`
	LastExitCode       looseInt `json:"last_exit_code"`
	LastExitAt         unixTime `json:"last_exit_at"`
	LastStartError     string   `json:"last_start_error"`
	LastStartErrorAt   unixTime `json:"last_start_error_at"`
	Status             struct {
		Ports []portWire `json:"ports"`
	} `json:"status"`
	Events []eventWire `json:"events"`
}

type portWire struct {
	Num            portNum  `json:"num"`
	Liveness       string   `json:"liveness"`
	LivenessStatus string   `json:"liveness_status"`
	LastCheckedAt  unixTime `json:"last_checked_at"`
	LastError      string   `json:"last_error"`
}

type eventWire struct {
	Type           string   `json:"type"`
	Reason         string   `json:"reason"`
	Message        string   `json:"message"`
	Count          looseInt `json:"count"`
	FirstTimestamp unixTime `json:"first_timestamp"`
	LastTimestamp  unixTime `json:"last_timestamp"`
}

func (w *stateWire) state() State {
	st := State{
		ServiceID:          w.ServiceID,
		State:              w.State,
		ContainerID:        w.ContainerID,
		StartedAt:          w.StartedAt.t,
		RestartScheduledAt: w.RestartScheduledAt.t,
		RestartCount:       w.RestartCount.n,
		LastExitCode:       w.LastExitCode.ptr(),
		LastExitAt:         w.LastExitAt.t,
		LastStartError:     w.LastStartError,
		LastStartErrorAt:   w.LastStartErrorAt.t,
	}
	if len(w.Status.Ports) > 0 {
		st.Ports = make([]PortStatus, len(w.Status.Ports))
		for i, p := range w.Status.Ports {
			st.Ports[i] = p.status()
		}
	}
	if len(w.Events) > 0 {
		st.Events = make([]Event, len(w.Events))
		for i, e := range w.Events {
			st.Events[i] = e.event()
		}
	}
	return st
}

// status reads a liveness status other than the three the SDKs define as
// "not_configured", as the TS SDK does.
func (p *portWire) status() PortStatus {
	ls := p.LivenessStatus
	if ls != "ready" && ls != "not_ready" {
		ls = "not_configured"
	}
	return PortStatus{
		Num:            p.Num.String(),
		Liveness:       p.Liveness,
		LivenessStatus: ls,
		LastCheckedAt:  p.LastCheckedAt.t,
		LastError:      p.LastError,
	}
}

// event fills what is missing with the TS SDK's defaults.
func (e *eventWire) event() Event {
	count := 1
	if e.Count.set {
		count = e.Count.n
	}
	return Event{
		Type:           or(e.Type, "Normal"),
		Reason:         or(e.Reason, "Unknown"),
		Message:        e.Message,
		Count:          count,
		FirstTimestamp: e.FirstTimestamp.t,
		LastTimestamp:  e.LastTimestamp.t,
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// portNum is a port number or "*", the wildcard and the default.
type portNum struct{ s string }

func (p *portNum) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		s, ok := unquote(b)
		if ok {
			p.s = string(s)
		}
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		var n looseInt
		n.UnmarshalJSON(b)
		p.s = strconv.Itoa(n.n)
	}
	return nil
}

func (p portNum) String() string {
	if p.s == "" {
		return "*"
	}
	return p.s
}

// looseInt is an integer the room may send as a float or a numeric
// string; anything else reads as unset.
type looseInt struct {
	n   int
	set bool
}

func (l *looseInt) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		s, _ := unquote(b)
		b = s
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > math.MaxInt32 {
		*l = looseInt{}
		return nil
	}
	*l = looseInt{n: int(f), set: true}
	return nil
}

func (l looseInt) ptr() *int {
	if !l.set {
		return nil
	}
	n := l.n
	return &n
}

func isNull(b []byte) bool { return len(b) == 4 && string(b) == "null" }

// unixTime is a time sent as seconds since the epoch, with a fraction.
type unixTime struct{ t time.Time }

func (u *unixTime) UnmarshalJSON(b []byte) error {
	if f, ok := seconds(b); ok {
		sec, frac := math.Modf(f)
		u.t = time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3)
	}
	return nil
}

// seconds reads a JSON number, or a number in a string, within the range
// of times a room could mean.
func seconds(b []byte) (float64, bool) {
	if isNull(b) {
		return 0, false // the common case, and strconv's error would allocate
	}
	if len(b) > 0 && b[0] == '"' {
		b, _ = unquote(b)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > 1e11 {
		return 0, false
	}
	return f, true
}

// unquote decodes a JSON string literal. The double-encoded specs make it
// the hot path of a list answer, and unlike json.Unmarshal into a string
// it needs one allocation and no reflection.
func unquote(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return nil, false
	}
	b = b[1 : len(b)-1]
	if bytes.IndexByte(b, '\\') < 0 {
		return b, true
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n, ok := unquoteRune(b[i+1:])
			if !ok {
				return nil, false
			}
			out = utf8.AppendRune(out, r)
			i += n
		default:
			return nil, false
		}
	}
	return out, true
}

// unquoteRune reads the hex digits after \u, and a second \uXXXX when the
// first is half of a surrogate pair. It returns how many bytes it used.
func unquoteRune(b []byte) (rune, int, bool) {
	r, ok := hex4(b)
	if !ok {
		return 0, 0, false
	}
	if !utf16.IsSurrogate(r) {
		return r, 4, true
	}
	if len(b) >= 10 && b[4] == '\\' && b[5] == 'u' {
		if r2, ok := hex4(b[6:]); ok {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				return d, 10, true
			}
		}
	}
	return utf8.RuneError, 4, true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(n), err == nil
}
