package roomclient

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A List is the services of one room, in the order the room sent them,
// each joined with its runtime state.
type List struct {
	Room     string
	Services []Service

	// Orphans are states whose service_id matches no service spec. The
	// protocol allows them; they are kept so nothing the room said is lost.
	Orphans []State
}

// A Service is one service spec of a room, joined with its runtime state.
type Service struct {
	// ID is empty when the spec has none. Such a service cannot be
	// restarted.
	ID          string
	Name        string // metadata.name
	Description string
	Image       string // container.image; empty when the service has no container
	ExternalURL string // external.url, for services hosted outside the room
	Enabled     bool   // defaults to true when the spec does not say
	Ports       []Port

	// State is nil when the room reported no state for this service.
	State *State
}

// External reports whether s runs outside the room: it has an external
// URL and no container. The room has nothing of such a service to
// restart, and is taken to refuse with CodeServiceRestartForbidden, as
// the protocol's notes assume (§8).
func (s Service) External() bool {
	return s.ExternalURL != "" && s.Image == ""
}

// A Port is a port declared in a service spec.
type Port struct {
	Num      string // a number, or "*" for any port
	Type     string // "http" or "tcp"
	Liveness string // liveness path, empty when none
}

// A State is the runtime state the room's service controller reports for
// one service. Times are zero when the room sent null or nothing.
type State struct {
	ServiceID string

	// State is a free string: the rooms seen so far send "scheduled",
	// "starting", "running" and "restarting", but nothing promises that
	// set is closed.
	State              string
	ContainerID        string
	StartedAt          time.Time
	RestartScheduledAt time.Time
	RestartCount       int
	LastExitCode       *int // nil when the room sent null
	LastExitAt         time.Time
	LastStartError     string
	LastStartErrorAt   time.Time
	Ports              []PortStatus
	Events             []Event
}

// A PortStatus is the liveness of one port as the room last checked it.
type PortStatus struct {
	Num string // a number, or "*"

	Liveness string // liveness path, empty when none
	// LivenessStatus is "not_configured", "not_ready" or "ready"; anything
	// else the room sends is read as "not_configured".
	LivenessStatus string
	LastCheckedAt  time.Time
	LastError      string
}

// An Event is one entry of a service's lifecycle history.
type Event struct {
	Type           string // "Normal" or "Warning"
	Reason         string // e.g. "Started", "FailedStart"
	Message        string
	Count          int
	FirstTimestamp time.Time
	LastTimestamp  time.Time
}

// ByID returns the service whose id is id.
func (l *List) ByID(id string) (Service, bool) {
	for _, s := range l.Services {
		if s.ID == id {
			return s, true
		}
	}
	return Service{}, false
}

// Find returns the one service named name. Names are matched exactly and
// case-sensitively, as the room stores them. When no service or more than
// one has that name it returns a *NameError, so a caller never acts on the
// first of several matches.
func (l *List) Find(name string) (Service, error) {
	var found []Service
	for _, s := range l.Services {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		return Service{}, &NameError{Room: l.Room, Name: name, Candidates: found}
	}
	return found[0], nil
}

// A Code is an error code a room puts in an error answer. Codes are errors
// themselves so that callers can write
//
//	errors.Is(err, roomclient.CodeServiceNotFound)
type Code int

// Codes defined by the MeshAgent SDKs. The room may send others.
const (
	CodePermissionDenied        Code = 1001
	CodeInvalidRequest          Code = 1002
	CodeNotFound                Code = 1003
	CodeAlreadyExists           Code = 1004
	CodeConflict                Code = 1005
	CodeInvalidState            Code = 1006
	CodeDependencyMissing       Code = 1007
	CodeOperationFailed         Code = 1008
	CodeTimeout                 Code = 1009
	CodeUnexpectedResponse      Code = 1100
	CodeServiceNotFound         Code = 7001
	CodeServiceRestartForbidden Code = 7002
	CodeServiceAlreadyExists    Code = 7003
)

var codeNames = map[Code]string{
	CodePermissionDenied:        "permission denied",
	CodeInvalidRequest:          "invalid request",
	CodeNotFound:                "not found",
	CodeAlreadyExists:           "already exists",
	CodeConflict:                "conflict",
	CodeInvalidState:            "invalid state",
	CodeDependencyMissing:       "dependency missing",
	CodeOperationFailed:         "operation failed",
	CodeTimeout:                 "timeout",
	CodeUnexpectedResponse:      "unexpected response",
	CodeServiceNotFound:         "service not found",
	CodeServiceRestartForbidden: "service restart not allowed",
	CodeServiceAlreadyExists:    "service already exists",
}

func (c Code) Error() string {
	if name, ok := codeNames[c]; ok {
		return name
	}
	return fmt.Sprintf("room error code %d", int(c))
}

// An Error is an error answer from a room: its text, verbatim, and its
// code, which is zero when the room sent none.
type Error struct {
	Code Code
	Text string
}

func (e *Error) Error() string {
	if e.Code == 0 {
		return "room error: " + e.Text
	}
	return fmt.Sprintf("room error %d: %s", int(e.Code), e.Text)
}

// Is reports whether target is the Code of e.
func (e *Error) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c != 0 && c == e.Code
}

// Errors a caller may branch on.
var (
	// ErrDisconnected fails every call pending on a room connection that
	// dropped. Nothing is replayed: the next call dials again.
	ErrDisconnected = errors.New("room connection lost before the call completed")

	// ErrClosed is returned by calls on a Client after Close.
	ErrClosed = errors.New("room client closed")

	// ErrNoSuchService and ErrAmbiguousName are matched by a *NameError.
	ErrNoSuchService = errors.New("no service with that name")
	ErrAmbiguousName = errors.New("several services with that name")
)

// A NameError reports that a service name matched no service of a room,
// or several. Candidates holds every match, in the room's order.
type NameError struct {
	Room       string
	Name       string
	Candidates []Service
}

func (e *NameError) Error() string {
	if len(e.Candidates) == 0 {
		return fmt.Sprintf("room %q has no service named %q", e.Room, e.Name)
	}
	ids := make([]string, len(e.Candidates))
	for i, s := range e.Candidates {
		ids[i] = s.ID
	}
	return fmt.Sprintf("room %q has %d services named %q (ids %s); use an id",
		e.Room, len(e.Candidates), e.Name, strings.Join(ids, ", "))
}

// Is matches ErrNoSuchService and ErrAmbiguousName.
func (e *NameError) Is(target error) bool {
	switch target {
	case ErrNoSuchService:
		return len(e.Candidates) == 0
	case ErrAmbiguousName:
		return len(e.Candidates) > 1
	}
	return false
}

// A StatusError reports that a room refused the websocket upgrade with an
// HTTP status. Most are permanent (see Permanent), 401, 403, 404 and 423
// among them: dialling again will not help. Server errors, 408 and 429
// are retried before a StatusError is returned.
type StatusError struct {
	Room   string
	Status int
}

func (e *StatusError) Error() string {
	switch e.Status {
	case 401:
		return fmt.Sprintf("room %q refused the token (HTTP 401 Unauthorized)", e.Room)
	case 403:
		return fmt.Sprintf("room %q refused access (HTTP 403 Forbidden)", e.Room)
	case 404:
		return fmt.Sprintf("room %q not found (HTTP 404)", e.Room)
	case 423:
		return fmt.Sprintf("room %q is disabled (HTTP 423)", e.Room)
	}
	switch {
	case e.Redirect():
		return fmt.Sprintf("room %q: the room server answered with a redirect (HTTP %d)", e.Room, e.Status)
	case e.NotUpgraded():
		return fmt.Sprintf("room %q: the server answered HTTP %d, not a websocket", e.Room, e.Status)
	}
	return fmt.Sprintf("room %q refused the connection (HTTP %d)", e.Room, e.Status)
}

// A TLSError is a dial that failed at TLS: the room server's certificate
// could not be verified, or the server does not speak TLS at all. It is
// made only by the dial, before anything is sent, and it is permanent:
// asking again gets the same answer. Err is crypto/tls's error.
type TLSError struct{ Err error }

func (e *TLSError) Error() string { return e.Err.Error() }
func (e *TLSError) Unwrap() error { return e.Err }

// NotTLS reports whether the server did not speak TLS at all, as a plain
// ws:// server asked for wss:// does; otherwise its certificate failed.
func (e *TLSError) NotTLS() bool {
	var he tls.RecordHeaderError
	return errors.As(e.Err, &he)
}

// Redirect reports whether the room server answered with a redirect.
func (e *StatusError) Redirect() bool { return e.Status >= 300 && e.Status < 400 }

// NotUpgraded reports whether the server answered with success but no
// websocket, as a web server that is not a room server does.
func (e *StatusError) NotUpgraded() bool { return e.Status >= 200 && e.Status < 300 }

// Permanent reports whether dialling again cannot succeed: any answer
// but a server error, 408 and 429, which say to come back later. A
// redirect is permanent too: the websocket dialer does not follow one,
// and a room server that sends one is not the one MESHAGENT_ROOM_URL
// should name.
func (e *StatusError) Permanent() bool {
	switch {
	case e.Status >= 500, e.Status == 408, e.Status == 429:
		return false
	}
	return true
}
