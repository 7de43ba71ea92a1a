//go:build ignore

// gen_corpus writes the hostile seed inputs of the notepack fuzz targets into testdata/fuzz/FuzzXxx/ in the Go
// corpus format. Run from the internal/notepack directory: go run testdata/gen_corpus.go
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func write(target, name string, args ...string) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		panic(err)
	}
	body := "go test fuzz v1\n" + strings.Join(args, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(body), 0o644); err != nil {
		panic(err)
	}
}

func bytesArg(s string) string { return "[]byte(" + strconv.Quote(s) + ")" }

func main() {
	rep := strings.Repeat
	// msgpack: length claims far beyond the input, nesting past MaxDepth (512), every extension notepack.io reads,
	// non-string keys, invalid UTF-8, dates out of a JS Date's range.
	msgpack := map[string]string{
		"array32-4e9":           "\xdd\xff\xff\xff\xff\x01",
		"map32-4e9":             "\xdf\xff\xff\xff\xff\xa1a\x01",
		"str32-4e9":             "\xdb\xff\xff\xff\xffabc",
		"bin32-4e9":             "\xc6\xff\xff\xff\xff\x00",
		"ext32-4e9-arraybuffer": "\xc9\xff\xff\xff\xff\x00\x00",
		"nested-arrays-600":     rep("\x91", 600) + "\xc0",
		"nested-maps-600":       rep("\x81\xa1k", 600) + "\xc0",
		"nested-in-key-600":     "\x81" + rep("\x91", 600) + "\xc0\x01",
		"array16-of-16-nil":     "\xdc\x00\x10" + rep("\xc0", 16),
		"timestamps":            "\x95\xd6\xff\x00\x00\x00\x01\xd7\xff\xee\x6b\x27\xff\xff\xff\xff\xff\xc7\x0c\xff\x00\x00\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff\xd7\x00\x7f\xff\xff\xff\xff\xff\xff\xff\xc7\x0c\xff\x3b\x9a\xc9\xff\x00\x00\x04\x8c\x27\x39\x50\x00",
		"ts96-bad-length":       "\xc7\x00\xff" + rep("\x00", 12),
		"undefined-everywhere":  "\x93\xd4\x00\x00\x82\xa1a\xd4\x00\x00\xa1b\x01\x81\xd4\x00\x00\x02",
		"duplicate-undefined":   "\x82\xa1a\x01\xa1a\xd4\x00\x00",
		"keys-of-every-kind":    "\x8a\x01\x01\xc0\x02\xc3\x03\xcb\x44\x4b\x1a\xe4\xd6\xe2\xef\x50\x04\x92\x01\xc0\x05\x80\x06\xc4\x01\xff\x07\xd6\xff\x00\x00\x00\x00\x08\xc7\x01\x00\x41\x09\xd5\x05\x41\x42\x0a",
		"invalid-utf8":          "\x94\xa1\xff\xa2\xe1\x80\xa3\xed\xa0\x80\xa4\xf4\x90\x80\x80",
		"ext-other-types":       "\x96\xd4\x05\x41\xd5\x05\x41\x42\xd6\x05\x00\x00\x00\x01\xd7\x05" + rep("\x00", 8) + "\xd8\x05" + rep("\x00", 16) + "\xc8\x00\x02\xff\x41\x42",
		"floats":                "\x95\xca\x7f\xc0\x00\x00\xcb\x80\x00\x00\x00\x00\x00\x00\x00\xcb\x7f\xf0\x00\x00\x00\x00\x00\x01\xcb\x44\x15\xaf\x1d\x78\xb5\x8c\x40\xcb\x7f\xef\xff\xff\xff\xff\xff\xff",
		"big-ints":              "\x93\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xd3\x80\x00\x00\x00\x00\x00\x00\x00\xcf\x00\x20\x00\x00\x00\x00\x00\x01",
		"c1":                    "\x92\x01\xc1",
		"truncated-float":       "\xcb\x00",
	}
	for name, v := range msgpack {
		write("FuzzDecode", name, bytesArg(v))
		write("FuzzToJSON", name, bytesArg(v))
	}
	// JSON: deep nesting, widening at many levels, placeholders in every form, numbers at every edge, escapes.
	jsonSeeds := map[string]string{
		"deep-arrays-600":          rep("[", 600) + rep("]", 600),
		"deep-objects-600":         rep(`{"a":`, 600) + "1" + rep("}", 600),
		"unterminated-600":         rep("[", 600),
		"widening-nested":          rep("[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,", 30) + "0" + rep("]", 30),
		"placeholders":             `[{"_placeholder":true,"num":0},{"num":2,"x":[1,{"_placeholder":true,"num":1}],"_placeholder":true},{"\u005fplaceholder":true,"n\u0075m":1e0}]`,
		"placeholder-bad-num":      `[{"_placeholder":true,"num":0.5},{"_placeholder":true,"num":-0},{"_placeholder":true,"num":"0"}]`,
		"numbers":                  `[-0,1.0,1e400,-1e400,1e-400,9007199254740993,18446744073709551615,1e20,0.1e310,123456789012345678901234567890]`,
		"escapes-and-surrogates":   `["\ud800","\udc00\ud800\udc00","\ud83d\ude00",` + `"` + rep(`\u00e9\n`, 40) + `"]`,
		"invalid-utf8":             "[\"\xff\xe1\x80\xed\xa0\x80\"]",
		"long-string-with-escape":  `"` + rep("x", 300) + `\n"`,
		"duplicate-and-index-keys": `{"b":1,"1":2,"b":3,"0":{"z":[],"00":null}}`,
	}
	for name, v := range jsonSeeds {
		write("FuzzAppendJSON", name, bytesArg(v), "byte('\\x02')")
	}
	fmt.Println("wrote", len(msgpack)*2+len(jsonSeeds), "seeds")
}
