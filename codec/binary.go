package codec

import (
	"encoding/base64"
	"math"
	"reflect"
	"strconv"

	"github.com/bytedance/sonic"
)

// This file reassembles received binary packets (PROTOCOL.md §12): placeholders {"_placeholder":true,"num":i}
// in the JSON of a BINARY_EVENT/BINARY_ACK stand for the i-th attachment that followed it.

// decodeAPI decodes values handed to user code. CopyString is on so that no decoded string aliases the input,
// which is usually a reused loop buffer (STYLE.md §11); sonic's Unmarshal also copies its input, so the result
// never retains the caller's bytes. Numbers decode into any as float64, like encoding/json and JS.
var decodeAPI = sonic.Config{CopyString: true}.Froze()

// phWalker walks validated JSON, checking placeholders and optionally rewriting them. It recurses once per nesting
// level; its input has passed skipValue, so the depth is at most maxDepthCap.
type phWalker struct {
	b    []byte
	atts [][]byte // for rewriting
	n    int      // number of attachments
	out  []byte
	copy bool // rewrite into out: placeholders become base64 strings of their attachment
}

// checkPlaceholders verifies every placeholder object in the validated JSON data against n attachments.
func checkPlaceholders(data []byte, n int) error {
	w := phWalker{b: data, n: n}
	_, err := w.value(0)
	return err
}

// placeholderNum validates a placeholder's raw num: a JSON number with an integer value in 0..n-1. The reference
// accepts any number in range and then yields undefined for a fraction; we refuse it (ErrPlaceholder).
func placeholderNum(raw []byte, n int) (int, error) {
	if len(raw) == 0 || !(raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9') {
		return 0, ErrPlaceholder
	}
	var f float64
	if len(raw) <= 2 && raw[0] != '-' { // fast path for 0..99
		f = float64(raw[0] - '0')
		if len(raw) == 2 {
			f = f*10 + float64(raw[1]-'0')
		}
	} else {
		// Tiny, rare, and already validated: ParseFloat on the bytes does not allocate.
		var err error
		if f, err = strconv.ParseFloat(string(raw), 64); err != nil && !math.IsInf(f, 0) {
			return 0, ErrPlaceholder
		}
	}
	if f != math.Trunc(f) || f < 0 || f >= float64(n) {
		return 0, ErrPlaceholder
	}
	return int(f), nil
}

// value walks the value at b[i] (no leading whitespace) and returns its end.
func (w *phWalker) value(i int) (int, error) {
	b := w.b
	switch b[i] {
	case '[':
		if w.copy {
			w.out = append(w.out, '[')
		}
		i = skipWS(b, i+1)
		if b[i] == ']' {
			if w.copy {
				w.out = append(w.out, ']')
			}
			return i + 1, nil
		}
		for {
			end, err := w.value(i)
			if err != nil {
				return -1, err
			}
			i = skipWS(b, end)
			if w.copy {
				w.out = append(w.out, b[i])
			}
			if b[i] == ']' {
				return i + 1, nil
			}
			i = skipWS(b, i+1) // ','
		}
	case '{':
		mark := len(w.out)
		if w.copy {
			w.out = append(w.out, '{')
		}
		isPh := false
		var num []byte
		hasNum := false
		i = skipWS(b, i+1)
		if b[i] == '}' {
			if w.copy {
				w.out = append(w.out, '}')
			}
			return i + 1, nil
		}
		for {
			kend, esc := scanString(b, i)
			key := b[i:kend]
			if w.copy {
				w.out = append(w.out, key...)
				w.out = append(w.out, ':')
			}
			i = skipWS(b, skipWS(b, kend)+1) // past ':'
			end, err := w.value(i)
			if err != nil {
				return -1, err
			}
			// Duplicate keys: the last one wins, as in JSON.parse.
			if equalUnquoted(key, esc, "_placeholder") {
				isPh = string(b[i:end]) == "true"
			} else if equalUnquoted(key, esc, "num") {
				num, hasNum = b[i:end], true
			}
			i = skipWS(b, end)
			if b[i] == '}' {
				i++
				break
			}
			if w.copy {
				w.out = append(w.out, ',')
			}
			i = skipWS(b, i+1)
		}
		if !isPh {
			if w.copy {
				w.out = append(w.out, '}')
			}
			return i, nil
		}
		if !hasNum {
			return -1, ErrPlaceholder
		}
		k, err := placeholderNum(num, w.n)
		if err != nil {
			return -1, err
		}
		if w.copy { // replace the whole object by the attachment as a base64 string, which decodes into []byte
			w.out = append(w.out[:mark], '"')
			w.out = base64.StdEncoding.AppendEncode(w.out, w.atts[k])
			w.out = append(w.out, '"')
		}
		return i, nil
	default:
		end := scanScalar(b, i)
		if w.copy {
			w.out = append(w.out, b[i:end]...)
		}
		return end, nil
	}
}

// ResolvePlaceholders decodes the JSON array data (the Data of an EVENT/ACK or BINARY_* packet) into Go values and,
// when attachments is non-empty, replaces each placeholder object, at any depth (S19), by its attachment
// (PROTOCOL.md §12). Values are as encoding/json decodes into any: float64, string, bool, nil, []any,
// map[string]any, plus []byte at placeholder positions. For an EVENT the event name is element 0.
//
// Placeholders must hold an integer num in 0..len(attachments)-1, else [ErrPlaceholder]. With no attachments
// nothing is treated as a placeholder, as the reference does for non-binary packets. data must be a JSON array
// nesting at most 256 levels, else ErrInvalidJSON/ErrTooDeep/ErrInvalidPayload.
//
// Lifetimes: strings are copied (sonic CopyString) and the result never aliases data, so data may be a reused
// buffer; the []byte values ARE the attachments slices (not copied). Allocates the result.
func ResolvePlaceholders(data []byte, attachments [][]byte) ([]any, error) {
	if err := validJSON(data, maxDepthCap); err != nil {
		return nil, err
	}
	if data[0] != '[' {
		return nil, ErrInvalidPayload
	}
	if len(attachments) > 0 {
		if err := checkPlaceholders(data, len(attachments)); err != nil {
			return nil, err
		}
	}
	var out []any
	if err := decodeAPI.Unmarshal(data, &out); err != nil {
		return nil, ErrInvalidJSON
	}
	if len(attachments) > 0 {
		for i := range out {
			out[i] = resolveTree(out[i], attachments)
		}
	}
	return out, nil
}

// resolveTree replaces placeholder maps in a decoded tree. Placeholders were validated by checkPlaceholders on the
// same bytes, so the lookups here cannot fail; the recursion depth is bounded by the validated nesting.
func resolveTree(v any, atts [][]byte) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = resolveTree(x[i], atts)
		}
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph {
			if f, ok := x["num"].(float64); ok && f >= 0 && f < float64(len(atts)) && f == math.Trunc(f) {
				return atts[int(f)]
			}
			return v
		}
		for k, e := range x {
			x[k] = resolveTree(e, atts)
		}
	}
	return v
}

// UnmarshalArg decodes one raw JSON argument (an element from [SplitArgs], or a CONNECT auth object) into v, which
// must be a non-nil pointer, using sonic with encoding/json semantics. With attachments, placeholders are resolved
// (PROTOCOL.md §12; validated as in [ResolvePlaceholders]):
//   - v is *any, *[]any or *map[string]any: placeholders become the attachment slices themselves, as in
//     ResolvePlaceholders;
//   - any other target: each placeholder is rewritten to the base64 of its attachment before decoding, so it fills
//     a []byte (named []byte types included) field, element or value with a copy of the attachment. A
//     placeholder landing in an interface-typed field of such a target arrives as that base64 string; decode into
//     any to get []byte there.
//
// Decoded strings never alias raw (CopyString), so raw may be a reused buffer. raw must be one JSON value nesting
// at most 256 levels (else ErrInvalidJSON/ErrTooDeep); a nil or non-pointer v is ErrUnsupportedValue; decoding
// errors are sonic's (type mismatches, as encoding/json reports them).
func UnmarshalArg(raw []byte, attachments [][]byte, v any) error {
	if rv := reflect.ValueOf(v); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return ErrUnsupportedValue
	}
	if err := validJSON(raw, maxDepthCap); err != nil {
		return err
	}
	if len(attachments) > 0 {
		if err := checkPlaceholders(raw, len(attachments)); err != nil {
			return err
		}
		switch p := v.(type) {
		case *any:
			if err := decodeAPI.Unmarshal(raw, p); err != nil {
				return err
			}
			*p = resolveTree(*p, attachments)
			return nil
		case *[]any:
			if err := decodeAPI.Unmarshal(raw, p); err != nil {
				return err
			}
			resolveTree(*p, attachments)
			return nil
		case *map[string]any:
			if err := decodeAPI.Unmarshal(raw, p); err != nil {
				return err
			}
			if r, ok := resolveTree(*p, attachments).(map[string]any); ok {
				*p = r
			}
			return nil
		}
		w := phWalker{b: raw, atts: attachments, n: len(attachments), copy: true,
			out: make([]byte, 0, len(raw)+placeholderGrowth(attachments))}
		if _, err := w.value(0); err != nil {
			return err
		}
		raw = w.out
	}
	return decodeAPI.Unmarshal(raw, v)
}

func placeholderGrowth(atts [][]byte) int {
	n := 0
	for _, a := range atts {
		n += base64.StdEncoding.EncodedLen(len(a)) + 2
	}
	return n
}

// DecodeArg is [UnmarshalArg] into a new value of type T.
func DecodeArg[T any](raw []byte, attachments [][]byte) (T, error) {
	var v T
	err := UnmarshalArg(raw, attachments, &v)
	return v, err
}

// ValidateData checks the data array of an event that did not come from a client's packet (a cluster adapter's,
// say): exactly one JSON array, nesting within the codec's cap, each placeholder naming one of n attachments.
func ValidateData(data []byte, n int) error {
	if len(data) == 0 || data[0] != '[' {
		return ErrInvalidPayload
	}
	if err := validJSON(data, maxDepthCap); err != nil {
		return err
	}
	return checkPlaceholders(data, n)
}
