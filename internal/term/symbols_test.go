package term

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSymbolsCoverCommands: every emoji code the renderer in package
// commands writes has a symbol, so the demo shows none as a bare code.
func TestSymbolsCoverCommands(t *testing.T) {
	files, err := filepath.Glob("../../commands/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no commands sources found: %v", err)
	}
	// Codes inside string literals, not in comments.
	literal := regexp.MustCompile("\"(?:[^\"\\\\\n]|\\\\.)*\"")
	code := regexp.MustCompile(`:([a-z_]+):`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, lit := range literal.FindAllString(string(src), -1) {
			for _, m := range code.FindAllStringSubmatch(lit, -1) {
				if _, ok := symbols[m[1]]; !ok {
					t.Errorf("%s writes :%s:, which has no symbol", filepath.Base(f), m[1])
				}
			}
		}
	}
}
