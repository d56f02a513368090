package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// Pack builds a message body: the 8-byte big-endian length of header, the
// JSON header itself, then payload.
func Pack(header, payload []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(payload))
	binary.BigEndian.PutUint64(b, uint64(len(header)))
	return append(append(b, header...), payload...)
}

// PackJSON marshals v as compact JSON and packs it with no payload. HTML
// characters are left unescaped, as the Python and JS SDKs write them.
func PackJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.Write(make([]byte, 8))
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	binary.BigEndian.PutUint64(b, uint64(len(b)-8))
	return b, nil
}

// ErrBadBody reports a body too short for its length prefix, or whose
// header is not a JSON object.
var ErrBadBody = errors.New("wire: malformed message body")

// Unpack splits a body into its JSON header and payload, without copying.
// It checks only that the header looks like a JSON object; parsing it is
// the caller's business.
func Unpack(body []byte) (header, payload []byte, err error) {
	if len(body) < 8 {
		return nil, nil, fmt.Errorf("%w: %d bytes", ErrBadBody, len(body))
	}
	n := binary.BigEndian.Uint64(body)
	if n > uint64(len(body)-8) {
		return nil, nil, fmt.Errorf("%w: header length %d past end", ErrBadBody, n)
	}
	header = body[8 : 8+n]
	if t := bytes.TrimLeft(header, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, nil, fmt.Errorf("%w: header is not a JSON object", ErrBadBody)
	}
	return header, body[8+n:], nil
}

// ToolCall is the header of a room.invoke_tool request. Field order is the
// order the SDKs write; participant_id and on_behalf_of_id are left out,
// which means the room's own toolkit.
type ToolCall struct {
	Toolkit    string  `json:"toolkit"`
	Tool       string  `json:"tool"`
	Arguments  Content `json:"arguments"`
	ToolCallID string  `json:"tool_call_id"`
}

// Content is a content header with a JSON value, the only kind of tool
// argument this project sends.
type Content struct {
	Type string `json:"type"`
	JSON any    `json:"json"`
}

// RestartArgs is the JSON argument of services/restart.
type RestartArgs struct {
	ServiceID string `json:"service_id"`
}

// ListCall builds the services/list request.
func ListCall(toolCallID string) ToolCall {
	return ToolCall{
		Toolkit:    "services",
		Tool:       "list",
		Arguments:  Content{Type: "json", JSON: struct{}{}},
		ToolCallID: toolCallID,
	}
}

// RestartCall builds the services/restart request for one service id.
func RestartCall(serviceID, toolCallID string) ToolCall {
	return ToolCall{
		Toolkit:    "services",
		Tool:       "restart",
		Arguments:  Content{Type: "json", JSON: RestartArgs{serviceID}},
		ToolCallID: toolCallID,
	}
}
