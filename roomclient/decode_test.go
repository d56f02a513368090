package roomclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestDecodeLenient feeds list answers in every shape the protocol says a
// client must accept.
func TestDecodeLenient(t *testing.T) {
	const spec = `{\"version\":\"v1\",\"kind\":\"Service\",\"id\":\"s1\",` +
		`\"metadata\":{\"name\":\"w\\u00e9b\"},\"ports\":[{\"num\":\"*\"}]}`
	answer := `{"__meshagent__":{"v":1,"otel":{}},"type":"json","extra":1,"json":{` +
		`"services_json":["` + spec + `",` +
		`{"version":"v1","kind":"Service","id":"s2","metadata":{"name":"obj"},` +
		`"enabled":false,"container":null,"ports":[{"num":8080,"type":"tcp"}],"future":{}}],` +
		`"service_states":[` +
		`{"service_id":"s1","state":"running","container_id":null,"started_at":1755555555.25,` +
		`"restart_count":2.0,"last_exit_code":"137","status":{"ports":[` +
		`{"num":"*","liveness_status":"weird"},{"num":9090,"liveness_status":"ready"}]},` +
		`"events":[{"message":"m"}],"new_key":[1,2]},` +
		`{"service_id":"s2","state":"starting","restart_count":null,"last_exit_code":null,` +
		`"status":null,"events":null,"last_start_error":"boom","last_start_error_at":"1755555000"}` +
		`]}}`
	list, err := decodeList("r", []byte(answer))
	if err != nil {
		t.Fatalf("decodeList: %v", err)
	}
	if len(list.Services) != 2 || list.Services[0].Name != "wéb" || list.Services[1].Name != "obj" {
		t.Fatalf("services = %+v", list.Services)
	}
	s1, s2 := list.Services[0], list.Services[1]
	if !s1.Enabled || s2.Enabled || s1.Ports[0].Num != "*" || s2.Ports[0] != (Port{Num: "8080", Type: "tcp"}) {
		t.Errorf("specs = %+v / %+v", s1, s2)
	}
	st := s1.State
	if st.RestartCount != 2 || st.LastExitCode == nil || *st.LastExitCode != 137 ||
		!st.StartedAt.Equal(time.Unix(1755555555, 250e6)) || st.ContainerID != "" {
		t.Errorf("s1 state = %+v", st)
	}
	if st.Ports[0].LivenessStatus != "not_configured" || st.Ports[1].Num != "9090" {
		t.Errorf("s1 ports = %+v", st.Ports)
	}
	if e := st.Events[0]; e.Type != "Normal" || e.Reason != "Unknown" || e.Count != 1 {
		t.Errorf("event defaults = %+v", e)
	}
	st2 := s2.State
	if st2.LastExitCode != nil || st2.Ports != nil || st2.Events != nil ||
		st2.LastStartError != "boom" || st2.LastStartErrorAt.Unix() != 1755555000 {
		t.Errorf("s2 state = %+v", st2)
	}
}

func TestDecodeMissingKeys(t *testing.T) {
	list, err := decodeList("r", []byte(`{"type":"json","json":{}}`))
	if err != nil || len(list.Services) != 0 || len(list.Orphans) != 0 {
		t.Errorf("decodeList(no keys) = %+v, %v; want an empty list", list, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, answer string
		code         Code
		text         string
	}{
		{"error with code", `{"type":"error","text":"nope","code":7001}`, CodeServiceNotFound, "nope"},
		{"code as string", `{"type":"error","text":"x","code":"1001"}`, CodePermissionDenied, "x"},
		{"code as float", `{"type":"error","text":"x","code":1002.0}`, CodeInvalidRequest, "x"},
		{"code garbage", `{"type":"error","text":"x","code":"soon"}`, 0, "x"},
		{"code null", `{"type":"error","text":"x","code":null}`, 0, "x"},
		{"stream", `{"type":"control","method":"open"}`, CodeUnexpectedResponse, "streamed"},
		{"text content", `{"type":"text","text":"hi"}`, CodeUnexpectedResponse, `"text"`},
		{"empty content", `{"type":"empty"}`, CodeUnexpectedResponse, `"empty"`},
		{"malformed", `{"type":"json","json":{"services_json":[`, CodeUnexpectedResponse, "malformed"},
		{"spec not an object", `{"type":"json","json":{"services_json":["[1]"]}}`,
			CodeUnexpectedResponse, "malformed"},
		{"spec a number", `{"type":"json","json":{"services_json":[5]}}`,
			CodeUnexpectedResponse, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeList("r", []byte(tt.answer))
			var re *Error
			if !errors.As(err, &re) || re.Code != tt.code || !strings.Contains(re.Text, tt.text) {
				t.Errorf("decodeList(%s) = %v, want code %d with %q", tt.answer, err, tt.code, tt.text)
			}
		})
	}
}

// TestRestartAnswer: any content but an error is a restart done (protocol
// §4.3), except control, which would make the call a stream; one without
// a type is no content at all.
func TestRestartAnswer(t *testing.T) {
	for answer, ok := range map[string]bool{
		`{"type":"empty"}`:                           true,
		`{"type":"json","json":{"ok":true}}`:         true,
		`{"type":"text","text":"restarting"}`:        true,
		`{"type":"binary","headers":{}}`:             true,
		`{"type":"file","name":"x","mime_type":"a"}`: true,
		`{"type":"link","name":"x","url":"u"}`:       true,
		`{"type":"raw","outputs":[]}`:                true,
		`{"type":"from_a_later_room"}`:               true,
		`{"type":"control","method":"open"}`:         false,
		`{"type":"error","text":"no"}`:               false,
		`{"text":"no type"}`:                         false,
		`{"type":7}`:                                 false,
	} {
		if err := restartAnswer([]byte(answer)); (err == nil) != ok {
			t.Errorf("restartAnswer(%s) = %v, want ok %v", answer, err, ok)
		}
	}
}

// FuzzDecodeList must never panic, whatever the room sends, and must
// answer either a List or an error.
func FuzzDecodeList(f *testing.F) {
	f.Add(`{"type":"json","json":{"services_json":["{\"version\":\"v1\",\"id\":\"a\",\"metadata\":{\"name\":\"n\"}}"],"service_states":[{"service_id":"a","state":"running","started_at":1.5}]}}`)
	f.Add(`{"type":"error","text":"x","code":"7"}`)
	f.Add(`{"type":"json","json":{"services_json":[{"ports":[{"num":"*"}]}],"service_states":[{"status":{"ports":[{"num":1e400}]}}]}}`)
	f.Fuzz(func(t *testing.T, answer string) {
		list, err := decodeList("r", []byte(answer))
		if (list == nil) == (err == nil) {
			t.Fatalf("decodeList(%q) = %v, %v", answer, list, err)
		}
	})
}

// FuzzDecodeAgainstReference holds the scanner to the encoding/json
// decoder it replaced: the same List, or an error with the same code.
// Answers with a repeated key are skipped, the one documented difference.
func FuzzDecodeAgainstReference(f *testing.F) {
	f.Add(string(listContent(f, bigRoom(3))))
	f.Add(`{"type":"json","json":{"services_json":["{\"id\":\"a\",\"ports\":[{\"num\":\"*\"}],\"enabled\":1}"],` +
		`"service_states":[{"service_id":"a","restart_count":"3","events":[{}],"status":{"ports":[{"num":1.5e1}]}},{"service_id":"b"}]}}`)
	f.Add(`{"TYPE":"json","Json":{"ſervices_json":[{"ID":"x","Metadata":{"Name":"\ud800"}}]}}`)
	f.Add(`{"type":"error","text":"x","code":"7"}`)
	f.Add(`{"type":"json","json":5}`)
	// Dotted and dotless i fold to no ASCII letter; ſ and K do.
	f.Add(`{"type":"json","json":{"services_json":[{"ıd":"x","İd":"y","\u017fervice":1,"\u212aind":2}]}}`)
	f.Fuzz(func(t *testing.T, answer string) {
		if repeatsKey([]byte(answer)) {
			t.Skip("a repeated key")
		}
		got, gotErr := decodeList("r", []byte(answer))
		want, wantErr := refDecodeList("r", []byte(answer))
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("decodeList(%q) = %v; encoding/json said %v", answer, gotErr, wantErr)
		}
		if gotErr != nil {
			var g, w *Error
			if !errors.As(gotErr, &g) || !errors.As(wantErr, &w) || g.Code != w.Code {
				t.Fatalf("decodeList(%q) = %v; encoding/json said %v", answer, gotErr, wantErr)
			}
			return
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("decodeList(%q) differs from encoding/json (-want +got):\n%s", answer, diff)
		}
	})
}

// repeatsKey reports whether any object in b, or in a JSON string in b
// that holds an object, has two keys that encoding/json would take for
// the same field: keys equal under bytes.EqualFold, which is how it
// matches them. It reads with encoding/json, not with the scanner under
// test; where b stops being JSON it stops looking.
func repeatsKey(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	repeated := false
	var value func() error
	value = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim:
			var keys []string
			for dec.More() {
				if t == '{' {
					kt, err := dec.Token()
					if err != nil {
						return err
					}
					k, _ := kt.(string)
					for _, seen := range keys {
						repeated = repeated || strings.EqualFold(seen, k)
					}
					keys = append(keys, k)
				}
				if err := value(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case string:
			inner := strings.TrimLeft(t, " \t\r\n")
			repeated = repeated || strings.HasPrefix(inner, "{") && repeatsKey([]byte(inner))
		}
		return nil
	}
	value()
	return repeated
}

// TestFold: keys match known names as encoding/json matches them.
func TestFold(t *testing.T) {
	for key, want := range map[string]string{
		"ID": "id", "Service_ID": "service_id", "ſtate": "state", "\u212aind": "kind",
		"ıd": "ıd", "İd": "İd",
	} {
		got, changed := fold([]byte(key))
		if !changed {
			got = key
		}
		if got != want {
			t.Errorf("fold(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestRepeatedKeys pins what the scanner's comment says of a key given
// twice: an object merges, as with encoding/json, an array replaces.
func TestRepeatedKeys(t *testing.T) {
	spec := `{"id":"a","metadata":{"name":"n","description":"d"},"metadata":{"name":"m"},` +
		`"ports":[{"num":1,"liveness":"/h"}],"ports":[{"num":2}]}`
	answer := `{"type":"json","json":{"services_json":[` + strconv.Quote(spec) + `]}}`
	list, err := decodeList("r", []byte(answer))
	if err != nil {
		t.Fatal(err)
	}
	want := []Service{{ID: "a", Name: "m", Description: "d", Enabled: true,
		Ports: []Port{{Num: "2", Type: "http"}}}}
	if diff := cmp.Diff(want, list.Services); diff != "" {
		t.Errorf("decodeList(%s) (-want +got):\n%s", answer, diff)
	}
}
