//go:build ignore

// gen_corpus writes the hostile seed inputs of the codec fuzz targets into testdata/fuzz/FuzzXxx/ in the Go corpus
// format. Run from the codec directory: go run testdata/gen_corpus.go
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func write(target, name string, value string, asString bool) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		panic(err)
	}
	lit := "[]byte(" + strconv.Quote(value) + ")"
	if asString {
		lit = "string(" + strconv.Quote(value) + ")"
	}
	body := "go test fuzz v1\n" + lit + "\n"
	sum := sha256.Sum256([]byte(body))
	file := filepath.Join(dir, fmt.Sprintf("seed-%s-%x", name, sum[:4]))
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		panic(err)
	}
}

func main() {
	args70k := `2["x"` + strings.Repeat(",0", 70000) + `]`
	deep := `2["x",` + strings.Repeat("[", 6000) + strings.Repeat("]", 6000) + `]`
	deepObj := `0` + strings.Repeat(`{"a":`, 6000) + `1` + strings.Repeat(`}`, 6000)
	unterminated := `2[` + strings.Repeat("[", 6000)
	packets := map[string]string{
		"args-70000":           args70k,
		"deep-6000":            deep,
		"deep-objects-6000":    deepObj,
		"unterminated-6000":    unterminated,
		"ackid-2pow53plus1":    `29007199254740993["x"]`,
		"ackid-max-safe":       `29007199254740991["x"]`,
		"ackid-400-digits":     `2` + strings.Repeat("9", 400) + `["x"]`,
		"placeholder-range":    `51-["x",{"_placeholder":true,"num":1}]`,
		"placeholder-negative": `51-["x",{"_placeholder":true,"num":-1}]`,
		"placeholder-float":    `51-["x",{"_placeholder":true,"num":0.5}]`,
		"placeholder-string":   `51-["x",{"_placeholder":true,"num":"0"}]`,
		"placeholder-huge":     `51-["x",{"_placeholder":true,"num":1e400}]`,
		"placeholder-missing":  `51-["x",{"_placeholder":true}]`,
		"placeholder-nested":   `52-/a,1["x",{"a":[{"b":{"_placeholder":true,"num":1}}]},{"_placeholder":true,"num":0}]`,
		"placeholder-escaped":  `51-["x",{"\u005fplaceholder":true,"num":0}]`,
		"attachments-huge":     `5` + strings.Repeat("9", 100) + `-["x"]`,
		"attachments-zero":     `50-["x"]`,
		"rs-escaped-in-string": `2["a\u001eb",{"k\u001e":"\u001e"}]`,
		"rs-raw-in-string":     "2[\"a\x1eb\"]",
		"reserved-escaped":     `2["\u0063onnect"]`,
		"leading-space":        `2 ["x"]`,
		"connect-error":        `4{"message":"x"}`,
		"namespace-no-comma":   `0/custom`,
		"big-number":           `2["x",1e400,-0,123456789012345678901234567890]`,
		"lone-surrogate":       `2["\ud800",{"\udc00":1}]`,
	}
	for name, v := range packets {
		write("FuzzDecodePacket", name, v, false)
	}
	for name, v := range map[string]string{
		"args-5000": `["x"` + strings.Repeat(",0", 5000) + `]`, "deep-6000": deep[1:], "deep-300": "[" + strings.Repeat("[", 300) + strings.Repeat("]", 300) + "]",
		"deep-256": strings.Repeat("[", 256) + strings.Repeat("]", 256), "rs-raw": "[\"a\x1eb\"]",
	} {
		write("FuzzSplitArgs", name, v, false)
	}
	for name, v := range map[string]string{
		"rs-inside-json-string": "42[\"a\x1eb\"]\x1e4x",
		"binary-event":          "451-[\"m\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID\x1ebAQIDBA==",
		"separators-only":       "\x1e\x1e\x1e",
		"bad-base64":            "bAQ\x1eb!!!!\x1eb\r\nAQID",
	} {
		write("FuzzPayload", name, v, false)
	}
	for name, v := range map[string]string{"rs": "\x1e", "b-text": "bAQID", "nul": "\x00"} {
		write("FuzzEnginePacket", name, v, false)
	}
	for name, v := range map[string]string{"surrogates": `"\ud83d\ude00\ud800\udbff\udfff\udc00"`, "escapes": `"\"\\\/\b\f\n\r\t\u0000"`} {
		write("FuzzUnquoteString", name, v, false)
	}
	write("FuzzAppendString", "controls", "\x00\x01\x08\x0c\x1e\x1f\x7f\u2028<&>\xff", true)
}
