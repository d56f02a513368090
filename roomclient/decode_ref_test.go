package roomclient

// This is the decoder the room client had before its scanner: encoding/json
// with lenient leaf types. FuzzDecodeAgainstReference holds the scanner to
// what it answers.

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// refAnswer is a content header as a room sends it in a __response__. The
// json value is decoded straight into the list shape: services/restart
// ignores it, and services/list saves a copy of its largest field.
type refAnswer struct {
	Type   string       `json:"type"`
	JSON   *refListJSON `json:"json"`
	Text   string       `json:"text"`
	Code   looseInt     `json:"code"`
	Method string       `json:"method"`
}

type refListJSON struct {
	ServicesJSON  []refSpecElem  `json:"services_json"`
	ServiceStates []refStateWire `json:"service_states"`
}

// common is the answer as the scanner's decoder holds it, whose checks
// the reference shares: they judge the content, not how it was read.
func (a *refAnswer) common() *answer {
	return &answer{Type: a.Type, Text: a.Text, Code: a.Code, Method: a.Method}
}

func refParseAnswer(header []byte) (*refAnswer, error) {
	var a refAnswer
	if err := json.Unmarshal(header, &a); err != nil && !refLenient(err) {
		return nil, &Error{
			Code: CodeUnexpectedResponse,
			Text: "malformed refAnswer: " + err.Error(),
		}
	}
	return &a, nil
}

// refLenient reports whether a decode error only concerns a value of an
// unexpected JSON type. encoding/json keeps decoding past such a value, so
// the rest is good; the field stays empty.
func refLenient(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// refDecodeList reads the refAnswer to services/list.
func refDecodeList(room string, header []byte) (*List, error) {
	a, err := refParseAnswer(header)
	if err != nil {
		return nil, err
	}
	if err := a.common().errorOrNil(); err != nil {
		return nil, err
	}
	if a.Type != "json" || a.JSON == nil {
		return nil, a.common().unexpected()
	}
	return a.JSON.join(room), nil
}

// join pairs every spec with its state by service id, keeping the room's
// order of specs; states that match no spec become orphans.
func (l *refListJSON) join(room string) *List {
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

// refSpecElem is one element of services_json: a JSON-encoded spec in a
// string, as every room sends, or the spec itself, which the TS SDK also
// accepts. Only what a Service shows is decoded.
type refSpecElem struct {
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

func (e *refSpecElem) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var spec string
		if json.Unmarshal(b, &spec) != nil {
			return errBadSpec
		}
		b = bytes.TrimLeft([]byte(spec), " \t\r\n")
	}
	if len(b) == 0 || b[0] != '{' {
		return errBadSpec
	}
	type plain refSpecElem // without this method
	err := json.Unmarshal(b, (*plain)(e))
	if err != nil && !refLenient(err) {
		return errBadSpec
	}
	return nil
}

// service converts to the scanner's specElem, so that the two decoders
// differ only in how they read JSON, which is what the fuzz target tests.
func (e *refSpecElem) service() Service {
	se := specElem{
		ID: e.ID, Name: e.Metadata.Name, Description: e.Metadata.Description,
		Image: e.Container.Image, URL: e.External.URL,
		Enabled: looseBool{set: e.Enabled != nil, v: e.Enabled != nil && *e.Enabled},
	}
	for _, p := range e.Ports {
		se.Ports = append(se.Ports, specPort(p))
	}
	return se.service()
}

// refStateWire is one element of service_states as the room sends it. Only
// leaf values have their own refLenient readers: an UnmarshalJSON on a whole
// state would make encoding/json scan each state twice.
type refStateWire struct {
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
		Ports []refPortWire `json:"ports"`
	} `json:"status"`
	Events []refEventWire `json:"events"`
}

type refPortWire struct {
	Num            portNum  `json:"num"`
	Liveness       string   `json:"liveness"`
	LivenessStatus string   `json:"liveness_status"`
	LastCheckedAt  unixTime `json:"last_checked_at"`
	LastError      string   `json:"last_error"`
}

type refEventWire struct {
	Type           string   `json:"type"`
	Reason         string   `json:"reason"`
	Message        string   `json:"message"`
	Count          looseInt `json:"count"`
	FirstTimestamp unixTime `json:"first_timestamp"`
	LastTimestamp  unixTime `json:"last_timestamp"`
}

// state converts to the scanner's stateWire, as service does.
func (w *refStateWire) state() State {
	sw := stateWire{
		ServiceID: w.ServiceID, State: w.State, ContainerID: w.ContainerID,
		RestartScheduledAt: w.RestartScheduledAt, StartedAt: w.StartedAt,
		RestartCount: w.RestartCount, LastExitCode: w.LastExitCode,
		LastExitAt: w.LastExitAt, LastStartError: w.LastStartError,
		LastStartErrorAt: w.LastStartErrorAt,
	}
	for _, p := range w.Status.Ports {
		sw.Ports = append(sw.Ports, portWire(p))
	}
	for _, e := range w.Events {
		sw.Events = append(sw.Events, eventWire(e))
	}
	return sw.state()
}

// The reference reads leaf values through encoding/json as well, so that
// the scanner's own leaf readers are compared too. Only the parsing of
// the number text is shared.

func (p *portNum) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var v string
		if json.Unmarshal(b, &v) == nil {
			p.s = v
		}
	case len(b) > 0 && (b[0] == '-' || '0' <= b[0] && b[0] <= '9'):
		p.s = strconv.Itoa(parseLooseInt(b).n)
	}
	return nil
}

func (l *looseInt) UnmarshalJSON(b []byte) error {
	if text, ok := refLeaf(b); ok {
		*l = parseLooseInt(text)
	}
	return nil
}

func (u *unixTime) UnmarshalJSON(b []byte) error {
	if text, ok := refLeaf(b); ok {
		u.set(text)
	}
	return nil
}

// refLeaf is the text of a number or of a number in a string; false for
// null.
func refLeaf(b []byte) ([]byte, bool) {
	if string(b) == "null" {
		return nil, false
	}
	var v string
	if len(b) > 0 && b[0] == '"' && json.Unmarshal(b, &v) == nil {
		return []byte(v), true
	}
	return b, true
}
