package roomclient

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// answer is a content header as a room sends it in a __response__.
type answer struct {
	Type   string
	Text   string
	Code   looseInt
	Method string

	// JSON is set for a json value other than null, whatever its type,
	// as encoding/json set the pointer it decoded into; it holds a list
	// only when the caller asked for one.
	JSON *listJSON
}

// listJSON is the json of a services/list answer, each spec already made
// a Service.
type listJSON struct {
	Services []Service
	States   []State
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

// parseAnswer reads a content header. With list, its json value is read
// as a services/list answer; without, it is only checked.
func parseAnswer(header []byte, list bool) (*answer, error) {
	var strs strings.Builder
	if list {
		// Strings are about a quarter of a list answer; the buffer
		// doubles from there when a room's are longer.
		strs.Grow(len(header) / 4)
	}
	d := &listDecoder{s: newScanner(header, &strs)}
	var a answer
	d.s.object(func(k []byte) bool { return d.answerField(&a, k, list) })
	err := d.s.end()
	if err == nil {
		err = d.bad
	}
	if err != nil {
		return nil, &Error{Code: CodeUnexpectedResponse, Text: "malformed answer: " + err.Error()}
	}
	return &a, nil
}

// decodeList reads the answer to services/list.
func decodeList(room string, header []byte) (*List, error) {
	a, err := parseAnswer(header, true)
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

// join pairs every service with its state by service id, keeping the
// room's order of services; states that match no service become orphans.
func (l *listJSON) join(room string) *List {
	byID := make(map[string]int, len(l.States))
	for i := range l.States {
		byID[l.States[i].ServiceID] = i // the last of a repeated id wins
	}
	used := make([]bool, len(l.States))
	for i := range l.Services {
		s := &l.Services[i]
		if j, ok := byID[s.ID]; ok && s.ID != "" {
			s.State = &l.States[j]
			used[j] = true
		}
	}
	list := &List{Room: room, Services: l.Services}
	if list.Services == nil {
		list.Services = []Service{}
	}
	for i := range l.States {
		// A state whose id a service took is not an orphan, even when
		// the room repeated the id and another state was joined.
		if !used[byID[l.States[i].ServiceID]] {
			list.Orphans = append(list.Orphans, l.States[i])
		}
	}
	return list
}

// errBadSpec fails a whole list: a spec that is not a JSON object is a
// room bug worth seeing, where a missing field is only a room's choice.
var errBadSpec = errors.New("a service spec is not a JSON object")

// A listDecoder reads one list answer. It keeps the scratch space that
// every spec and state reuses, so a list costs allocations per service
// only for what the List keeps.
type listDecoder struct {
	s   *scanner
	bad error // errBadSpec, once a spec was not an object

	spec   []byte // an unquoted spec
	ports  []specPort
	wports []portWire
	events []eventWire
}

func (d *listDecoder) answerField(a *answer, k []byte, list bool) bool {
	s := d.s
	switch string(k) {
	case "type":
		str(s, &a.Type)
	case "text":
		str(s, &a.Text)
	case "method":
		str(s, &a.Method)
	case "code":
		a.Code.read(s)
	case "json":
		switch {
		case s.null():
			a.JSON = nil
		case !list:
			s.skip()
			a.JSON = &listJSON{}
		default:
			if a.JSON == nil {
				a.JSON = &listJSON{}
			}
			s.object(func(k []byte) bool { return d.listField(a.JSON, k) })
		}
	default:
		return false
	}
	return true
}

// spare makes room in s for one more element: hint of them at first,
// then twice as many each time. append grows a large slice by a quarter,
// which for ten thousand services copies them a dozen times over.
func spare[T any](s []T, hint int) []T {
	if len(s) < cap(s) {
		return s
	}
	ns := make([]T, len(s), max(2*cap(s), hint, 16))
	copy(ns, s)
	return ns
}

// str reads a string into *p, which stays as it was for null or a value
// of another type.
func str(s *scanner, p *string) {
	if v, ok := s.str(); ok {
		*p = v
	}
}

func (d *listDecoder) listField(l *listJSON, k []byte) bool {
	s := d.s
	switch string(k) {
	case "services_json":
		if s.null() {
			l.Services = nil
			return true
		}
		var svcs []Service
		if s.array(func() { svcs = append(spare(svcs, 0), d.service()) }) {
			l.Services = svcs
		}
	case "service_states":
		if s.null() {
			l.States = nil
			return true
		}
		// Rooms send a state for each service, after the services.
		var states []State
		hint := len(l.Services)
		if s.array(func() { states = append(spare(states, hint), d.state()) }) {
			l.States = states
		}
	default:
		return false
	}
	return true
}

// service reads one element of services_json: a JSON-encoded spec in a
// string, as every room sends, or the spec itself, which the TS SDK also
// accepts. Only what a Service shows is kept.
func (d *listDecoder) service() Service {
	s := d.s
	var e specElem
	e.Ports = d.ports[:0]
	switch s.ws() {
	case '{':
		e.decode(s)
	case '"':
		d.quotedSpec(&e)
	default:
		s.skip()
		d.badSpec()
	}
	d.ports = e.Ports[:0]
	return e.service()
}

// quotedSpec reads a spec sent as a JSON string: the string is decoded,
// then read as JSON of its own, whose syntax errors fail only as a bad
// spec, as encoding/json's did.
func (d *listDecoder) quotedSpec(e *specElem) {
	s := d.s
	raw, plain := s.stringBytes()
	if s.err != nil {
		return
	}
	spec := raw
	if !plain {
		d.spec = append(d.spec[:0], s.unescape(raw)...)
		spec = d.spec
	}
	spec = bytes.TrimLeft(spec, " \t\r\n")
	if len(spec) == 0 || spec[0] != '{' {
		d.badSpec()
		return
	}
	inner := newScanner(spec, s.strs)
	inner.tmp = s.tmp
	e.decode(inner)
	s.tmp = inner.tmp
	if inner.end() != nil {
		d.badSpec()
	}
}

func (d *listDecoder) badSpec() {
	if d.bad == nil {
		d.bad = errBadSpec
	}
}

// specElem is what a Service takes from a spec.
type specElem struct {
	ID          string
	Enabled     looseBool
	Name        string
	Description string
	Image       string
	URL         string
	Ports       []specPort
}

type specPort struct {
	Num      portNum
	Type     string
	Liveness string
}

// looseBool is a spec's enabled: unset for null or nothing, and for any
// other value not a boolean, false, as encoding/json left a *bool.
type looseBool struct{ set, v bool }

func (e *specElem) decode(s *scanner) {
	s.object(func(k []byte) bool {
		switch string(k) {
		case "id":
			str(s, &e.ID)
		case "enabled":
			if s.null() {
				e.Enabled = looseBool{}
			} else {
				v, _ := s.boolean()
				e.Enabled = looseBool{set: true, v: v}
			}
		case "metadata":
			s.object(func(k []byte) bool {
				switch string(k) {
				case "name":
					str(s, &e.Name)
				case "description":
					str(s, &e.Description)
				default:
					return false
				}
				return true
			})
		case "container":
			s.object(func(k []byte) bool { return only(s, k, "image", &e.Image) })
		case "external":
			s.object(func(k []byte) bool { return only(s, k, "url", &e.URL) })
		case "ports":
			e.Ports = readArray(s, e.Ports, func(p *specPort) { p.decode(s) })
		default:
			return false
		}
		return true
	})
}

// only reads the string under key name into p, for objects of which
// nothing else matters.
func only(s *scanner, k []byte, name string, p *string) bool {
	if string(k) != name {
		return false
	}
	str(s, p)
	return true
}

// readArray reads an array into buf's backing array, one element each,
// as decode fills it. null empties it; any other value leaves it be.
func readArray[T any](s *scanner, buf []T, decode func(*T)) []T {
	if s.null() {
		return buf[:0]
	}
	out := buf[:0]
	if !s.array(func() {
		var zero T
		out = append(out, zero)
		decode(&out[len(out)-1])
	}) {
		return buf
	}
	return out
}

func (p *specPort) decode(s *scanner) {
	s.object(func(k []byte) bool {
		switch string(k) {
		case "num":
			p.Num.read(s)
		case "type":
			str(s, &p.Type)
		case "liveness":
			str(s, &p.Liveness)
		default:
			return false
		}
		return true
	})
}

func (e *specElem) service() Service {
	s := Service{
		ID:          e.ID,
		Name:        e.Name,
		Description: e.Description,
		Image:       e.Image,
		ExternalURL: e.URL,
		Enabled:     !e.Enabled.set || e.Enabled.v,
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

// state reads one element of service_states.
func (d *listDecoder) state() State {
	w := stateWire{Ports: d.wports[:0], Events: d.events[:0]}
	w.decode(d.s)
	d.wports, d.events = w.Ports[:0], w.Events[:0]
	return w.state()
}

// stateWire is one element of service_states as the room sends it.
type stateWire struct {
	ServiceID          string
	State              string
	ContainerID        string
	RestartScheduledAt unixTime
	StartedAt          unixTime
	RestartCount       looseInt
	LastExitCode       looseInt
	LastExitAt         unixTime
	LastStartError     string
	LastStartErrorAt   unixTime
	Ports              []portWire // status.ports
	Events             []eventWire
}

type portWire struct {
	Num            portNum
	Liveness       string
	LivenessStatus string
	LastCheckedAt  unixTime
	LastError      string
}

type eventWire struct {
	Type           string
	Reason         string
	Message        string
	Count          looseInt
	FirstTimestamp unixTime
	LastTimestamp  unixTime
}

func (w *stateWire) decode(s *scanner) {
	s.object(func(k []byte) bool {
		switch string(k) {
		case "service_id":
			str(s, &w.ServiceID)
		case "state":
			str(s, &w.State)
		case "container_id":
			str(s, &w.ContainerID)
		case "last_start_error":
			str(s, &w.LastStartError)
		case "restart_scheduled_at":
			w.RestartScheduledAt.read(s)
		case "started_at":
			w.StartedAt.read(s)
		case "last_exit_at":
			w.LastExitAt.read(s)
		case "last_start_error_at":
			w.LastStartErrorAt.read(s)
		case "restart_count":
			w.RestartCount.read(s)
		case "last_exit_code":
			w.LastExitCode.read(s)
		case "status":
			s.object(func(k []byte) bool {
				if string(k) != "ports" {
					return false
				}
				w.Ports = readArray(s, w.Ports, func(p *portWire) { p.decode(s) })
				return true
			})
		case "events":
			w.Events = readArray(s, w.Events, func(e *eventWire) { e.decode(s) })
		default:
			return false
		}
		return true
	})
}

func (p *portWire) decode(s *scanner) {
	s.object(func(k []byte) bool {
		switch string(k) {
		case "num":
			p.Num.read(s)
		case "liveness":
			str(s, &p.Liveness)
		case "liveness_status":
			str(s, &p.LivenessStatus)
		case "last_checked_at":
			p.LastCheckedAt.read(s)
		case "last_error":
			str(s, &p.LastError)
		default:
			return false
		}
		return true
	})
}

func (e *eventWire) decode(s *scanner) {
	s.object(func(k []byte) bool {
		switch string(k) {
		case "type":
			str(s, &e.Type)
		case "reason":
			str(s, &e.Reason)
		case "message":
			str(s, &e.Message)
		case "count":
			e.Count.read(s)
		case "first_timestamp":
			e.FirstTimestamp.read(s)
		case "last_timestamp":
			e.LastTimestamp.read(s)
		default:
			return false
		}
		return true
	})
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
	if len(w.Ports) > 0 {
		st.Ports = make([]PortStatus, len(w.Ports))
		for i, p := range w.Ports {
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

// read takes a port as a string, as rooms send it, or as a number; any
// other value leaves it as it was.
func (p *portNum) read(s *scanner) {
	switch c := s.ws(); {
	case c == '"':
		str(s, &p.s)
	case c == '-' || '0' <= c && c <= '9':
		p.s = strconv.Itoa(parseLooseInt(s.raw()).n)
	default:
		s.skip()
	}
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

// read takes the integer; null leaves it as it was.
func (l *looseInt) read(s *scanner) {
	if b, ok := leaf(s); ok {
		*l = parseLooseInt(b)
	}
}

func parseLooseInt(b []byte) looseInt {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > math.MaxInt32 {
		return looseInt{}
	}
	return looseInt{n: int(f), set: true}
}

func (l looseInt) ptr() *int {
	if !l.set {
		return nil
	}
	n := l.n
	return &n
}

// unixTime is a time sent as seconds since the epoch, with a fraction.
type unixTime struct{ t time.Time }

// read takes the time; a value that is no time leaves it as it was.
func (u *unixTime) read(s *scanner) {
	if b, ok := leaf(s); ok {
		u.set(b)
	}
}

func (u *unixTime) set(b []byte) {
	if f, ok := seconds(b); ok {
		sec, frac := math.Modf(f)
		u.t = time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3)
	}
}

// seconds reads a number within the range of times a room could mean.
func seconds(b []byte) (float64, bool) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > 1e11 {
		return 0, false
	}
	return f, true
}

// leaf reads a value a room may send as a number or as a number in a
// string, and returns its text: the string's contents, or the value's
// own bytes, valid until the next read. It reports false for null.
func leaf(s *scanner) ([]byte, bool) {
	switch s.ws() {
	case 'n':
		if s.null() {
			return nil, false
		}
	case '"':
		raw, plain := s.stringBytes()
		if s.err != nil {
			return nil, false
		}
		if plain {
			return raw, true
		}
		return s.unescape(raw), true
	}
	return s.raw(), true
}
