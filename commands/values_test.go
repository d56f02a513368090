package commands

import (
	"errors"
	"strings"
	"testing"
)

func TestAskRoundTrip(t *testing.T) {
	tests := []struct {
		in, want Ask
	}{
		{Ask{"myroom", "svc-1", "web"}, Ask{"myroom", "svc-1", "web"}},
		{Ask{"r.dev/x", "a\"b", "<!channel> & co"}, Ask{"r.dev/x", "a\"b", "<!channel> & co"}},
		{Ask{"r", "id", ""}, Ask{"r", "id", ""}},
		// Names are for show; one that cannot be carried is left out.
		{Ask{"r", "id", "two\nlines"}, Ask{"r", "id", ""}},
		{Ask{"r", "id", strings.Repeat("n", MaxName+1)}, Ask{"r", "id", ""}},
		{Ask{"r", "id", strings.Repeat("&", MaxName)}, Ask{"r", "id", ""}},
	}
	for _, tt := range tests {
		v, err := EncodeAsk(tt.in)
		if err != nil {
			t.Fatalf("EncodeAsk(%+v): %v", tt.in, err)
		}
		if strings.ContainsAny(v, "<>&") {
			t.Errorf("EncodeAsk(%+v) = %q has raw markup", tt.in, v)
		}
		if c := valueCost(v); c > maxAskCost {
			t.Errorf("EncodeAsk(%+v) costs %d; want ≤ %d", tt.in, c, maxAskCost)
		}
		got, err := DecodeAsk(v)
		if err != nil || got != tt.want {
			t.Errorf("DecodeAsk(EncodeAsk(%+v)) = %+v, %v; want %+v",
				tt.in, got, err, tt.want)
		}
	}
	if v, _ := EncodeAsk(Ask{"myroom", "svc-1", "web"}); v != `{"r":"myroom","i":"svc-1","n":"web"}` {
		t.Errorf("EncodeAsk(myroom, svc-1, web) = %s; want the compact form", v)
	}
}

func TestEncodeAskRefuses(t *testing.T) {
	bad := []Ask{
		{"", "id", "n"},
		{"r", "", "n"},
		{"my room", "id", "n"},
		{"r", "<@U1>", "n"},
		{strings.Repeat("é", MaxName), strings.Repeat("é", MaxName), ""},
	}
	for _, a := range bad {
		if v, err := EncodeAsk(a); !errors.Is(err, ErrBadValue) {
			t.Errorf("EncodeAsk(%+v) = %q, %v; want ErrBadValue", a, v, err)
		}
	}
}

func TestDecodeJunk(t *testing.T) {
	junk := []string{
		"", "null", "{}", "[]", "not json", `"string"`,
		`{"r":"a"}`,
		`{"i":"b"}`,
		`{"r":"a","i":"b","x":1}`,
		`{"r":"a","i":"b"} {"r":"c","i":"d"}`,
		`{"r":"a","i":"b"}x`,
		`{"r":"a b","i":"c"}`,
		`{"r":"a","i":"\u200b"}`,
		`{"r":"a","i":"<@U1>"}`,
		`{"r":"a","i":"b","n":"x\u0007"}`,
		`{"r":1,"i":"b"}`,
		`{"r":"a","i":"b","n":"` + strings.Repeat("n", 2000) + `"}`,
	}
	for _, v := range junk {
		if a, err := DecodeAsk(v); !errors.Is(err, ErrBadValue) {
			t.Errorf("DecodeAsk(%.40q) = %+v, %v; want ErrBadValue", v, a, err)
		}
	}
	pages := []string{
		"", "{}", `{"r":"a"}`, `{"r":"a","p":0}`, `{"r":"a","p":-1}`,
		`{"r":"a","p":100001}`, `{"r":"a","p":1.5}`, `{"r":"a","p":"2"}`,
		`{"r":"","p":1}`, `{"r":"a","p":1,"i":"x"}`,
	}
	for _, v := range pages {
		if p, err := DecodePage(v); !errors.Is(err, ErrBadValue) {
			t.Errorf("DecodePage(%q) = %+v, %v; want ErrBadValue", v, p, err)
		}
	}
}

func TestPageRoundTrip(t *testing.T) {
	in := Page{Room: "r&d.dev", Page: 4}
	v, err := EncodePage(in)
	if err != nil {
		t.Fatalf("EncodePage(%+v): %v", in, err)
	}
	got, err := DecodePage(v)
	if err != nil || got != in {
		t.Errorf("DecodePage(%q) = %+v, %v; want %+v", v, got, err, in)
	}
	if _, err := EncodePage(Page{Room: "r", Page: 0}); !errors.Is(err, ErrBadValue) {
		t.Errorf("EncodePage(page 0) = %v; want ErrBadValue", err)
	}
}
