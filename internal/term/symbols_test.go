package term

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSymbolsCoverCommands: every emoji code the renderer in package
// commands writes in a string has a symbol, so the demo shows none as a
// bare code.
func TestSymbolsCoverCommands(t *testing.T) {
	files, err := filepath.Glob("../../commands/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no commands sources found: %v", err)
	}
	code := regexp.MustCompile(`:([a-z_]+):`)
	fset := token.NewFileSet()
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, m := range code.FindAllStringSubmatch(s, -1) {
				seen++
				if _, ok := symbols[m[1]]; !ok {
					t.Errorf("%s writes :%s:, which has no symbol", filepath.Base(f), m[1])
				}
			}
			return true
		})
	}
	if seen == 0 {
		t.Error("no emoji code found in package commands: the scan looks in the wrong place")
	}
}
