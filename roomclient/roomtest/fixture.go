package roomtest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// A Fixture is the rooms a Server serves, as loaded from JSON:
//
//	{"rooms": {"lobby": {"services": [{"spec": {…}, "state": {…}}]}}}
type Fixture struct {
	Rooms map[string]*Room `json:"rooms"`
}

// A Room is one room of a fixture.
type Room struct {
	// Disabled rooms refuse connections with HTTP 423.
	Disabled bool `json:"disabled,omitempty"`

	// Services are listed in this order.
	Services []Service `json:"services"`

	// OrphanStates are states whose service_id matches no spec, which the
	// protocol allows.
	OrphanStates []State `json:"orphan_states,omitempty"`
}

// A Service is a service spec with its runtime state and the simulator's
// knobs for it.
type Service struct {
	// Spec is the ServiceSpec exactly as the room stores it. It must be
	// valid for the strict Python model: version "v1", kind "Service",
	// metadata.name, no unknown keys, no port 8078.
	Spec json.RawMessage `json:"spec"`

	// State is nil for a service the room reports no state for.
	State *State `json:"state,omitempty"`

	// RestartForbidden makes restarts fail with code 7002.
	RestartForbidden bool `json:"restart_forbidden,omitempty"`

	// FailRestart makes the service not come back from a restart.
	FailRestart *Failure `json:"fail_restart,omitempty"`

	// CrashLoop makes the service restart by itself periodically.
	CrashLoop *CrashLoop `json:"crash_loop,omitempty"`
}

// A Failure is how a service fails to come back: it stays "starting" with
// this exit code and start error.
type Failure struct {
	ExitCode   int    `json:"exit_code"`
	StartError string `json:"start_error"`
}

// A CrashLoop restarts a service every Every with exit code ExitCode, and
// on every other crash also records StartError as a failed start.
type CrashLoop struct {
	Every      Duration `json:"every"`
	ExitCode   int      `json:"exit_code"`
	StartError string   `json:"start_error,omitempty"`
}

// Duration is a time.Duration written as a string such as "5s".
type Duration time.Duration

// UnmarshalJSON reads "5s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		*d = Duration(v)
		return err
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New(`duration must be a string like "5s" or seconds`)
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// MarshalJSON writes the duration as a string such as "5s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// A State is a service's runtime state in the wire's own shape: times are
// Unix seconds, and nil pointers are sent as null.
type State struct {
	ServiceID          string   `json:"service_id"`
	State              string   `json:"state"`
	ContainerID        *string  `json:"container_id"`
	RestartScheduledAt *float64 `json:"restart_scheduled_at"`
	StartedAt          *float64 `json:"started_at"`
	RestartCount       int      `json:"restart_count"`
	LastExitCode       *int     `json:"last_exit_code"`
	LastExitAt         *float64 `json:"last_exit_at"`
	LastStartError     *string  `json:"last_start_error"`
	LastStartErrorAt   *float64 `json:"last_start_error_at"`
	Status             Status   `json:"status"`
	Events             []Event  `json:"events"`
}

// Status holds the liveness of a service's ports.
type Status struct {
	Ports []PortState `json:"ports"`
}

// A PortState is the liveness of one port.
type PortState struct {
	Num            PortNum  `json:"num"`
	Liveness       *string  `json:"liveness"`
	LivenessStatus string   `json:"liveness_status"` // not_configured, not_ready, ready
	LastCheckedAt  *float64 `json:"last_checked_at"`
	LastError      *string  `json:"last_error"`
}

// An Event is one lifecycle event of a service.
type Event struct {
	Type           string  `json:"type"`
	Reason         string  `json:"reason"`
	Message        string  `json:"message"`
	Count          int     `json:"count"`
	FirstTimestamp float64 `json:"first_timestamp"`
	LastTimestamp  float64 `json:"last_timestamp"`
}

// PortNum is a port number, or "*" for any port. On the wire a number is
// a JSON number and the wildcard a string.
type PortNum string

// MarshalJSON writes a number as a number.
func (p PortNum) MarshalJSON() ([]byte, error) {
	if _, err := strconv.Atoi(string(p)); err == nil {
		return []byte(p), nil
	}
	return json.Marshal(string(p))
}

// UnmarshalJSON reads a number or "*".
func (p *PortNum) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*p = PortNum(strconv.Itoa(n))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil || s != "*" {
		return fmt.Errorf("port num %s is neither a number nor \"*\"", b)
	}
	*p = "*"
	return nil
}

// Ptr returns a pointer to v, for the optional fields of a State.
func Ptr[T any](v T) *T { return &v }

// At returns t as the Unix seconds a State holds.
func At(t time.Time) *float64 {
	f := float64(t.UnixMicro()) / 1e6
	return &f
}

// LoadFixture reads and checks a fixture.
func LoadFixture(r io.Reader) (*Fixture, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var fx Fixture
	if err := dec.Decode(&fx); err != nil {
		return nil, fmt.Errorf("reading fixture: %w", err)
	}
	if err := fx.Validate(); err != nil {
		return nil, err
	}
	return &fx, nil
}

//go:embed demo.json
var demoJSON []byte

// demoTime is the moment the demo fixture's times were written for: its
// services started hours before it, and its scheduled restart is due 20
// minutes after it.
var demoTime = time.Unix(1767260400, 0)

// DemoFixture returns the demo rooms: "lobby", healthy; "staging", with a
// crash-looping service, a service with no state and a scheduled restart;
// and "fleet", with more services than a page of a list and two that
// share the name "worker". Its times are moved to the present, so the demo shows services
// up for hours rather than since the day the fixture was written. Each
// call returns a fresh copy.
func DemoFixture() *Fixture {
	fx, err := LoadFixture(bytes.NewReader(demoJSON))
	if err != nil {
		panic("roomtest: embedded demo fixture: " + err.Error())
	}
	fx.Shift(time.Since(demoTime))
	return fx
}

// Shift moves every time in the fixture by d: start and exit times,
// scheduled restarts, liveness checks and events.
func (fx *Fixture) Shift(d time.Duration) {
	secs := d.Seconds()
	move := func(p *float64) {
		if p != nil {
			*p += secs
		}
	}
	for _, r := range fx.Rooms {
		for i := range r.Services {
			if st := r.Services[i].State; st != nil {
				st.shift(secs, move)
			}
		}
		for i := range r.OrphanStates {
			r.OrphanStates[i].shift(secs, move)
		}
	}
}

func (st *State) shift(secs float64, move func(*float64)) {
	for _, p := range []*float64{st.RestartScheduledAt, st.StartedAt,
		st.LastExitAt, st.LastStartErrorAt} {
		move(p)
	}
	for i := range st.Status.Ports {
		move(st.Status.Ports[i].LastCheckedAt)
	}
	for i := range st.Events {
		st.Events[i].FirstTimestamp += secs
		st.Events[i].LastTimestamp += secs
	}
}

// Validate checks that every room would be accepted by the strict Python
// model of the SDKs, so the simulator can stand in for a real room.
func (fx *Fixture) Validate() error {
	for name, r := range fx.Rooms {
		if name == "" || r == nil {
			return errors.New("fixture: a room needs a name and a body")
		}
		ids := map[string]bool{}
		for i, svc := range r.Services {
			info, err := svc.validate()
			if err != nil {
				return fmt.Errorf("fixture: room %q, service %d: %w", name, i, err)
			}
			if info.id != "" && ids[info.id] {
				return fmt.Errorf("fixture: room %q: service id %q twice", name, info.id)
			}
			ids[info.id] = true
		}
		for _, st := range r.OrphanStates {
			if err := st.validate(); err != nil {
				return fmt.Errorf("fixture: room %q, orphan state: %w", name, err)
			}
		}
	}
	return nil
}

func (svc *Service) validate() (specInfo, error) {
	info, err := checkSpec(svc.Spec)
	if err != nil {
		return specInfo{}, err
	}
	if svc.State != nil {
		if info.id == "" || svc.State.ServiceID != info.id {
			return specInfo{}, fmt.Errorf("state service_id %q does not match spec id %q",
				svc.State.ServiceID, info.id)
		}
		if err := svc.State.validate(); err != nil {
			return specInfo{}, err
		}
	}
	if c := svc.CrashLoop; c != nil && time.Duration(c.Every) <= 0 {
		return specInfo{}, errors.New("crash_loop.every must be positive")
	}
	return info, nil
}

func (st *State) validate() error {
	if st.ServiceID == "" || st.State == "" {
		return errors.New("state needs service_id and state")
	}
	for _, p := range st.Status.Ports {
		if !slices.Contains([]string{"not_configured", "not_ready", "ready"}, p.LivenessStatus) {
			return fmt.Errorf("port %s: liveness_status %q", p.Num, p.LivenessStatus)
		}
	}
	for _, e := range st.Events {
		if e.Type == "" || e.Reason == "" {
			return errors.New("events need a type and a reason")
		}
	}
	return nil
}
